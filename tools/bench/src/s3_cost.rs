//! What a report costs in S3 requests, beside its Lambda cost: the embedded
//! server counts every request of each child run by operation, and S3
//! bills them by class. UpdateSite writes a report as pages, one PutObject
//! each (about 15,000 per GB at the default page size), so on AWS its
//! requests, not its CPU, are most of what a report costs.

use local_services::s3::{LocalS3, S3Op};

use crate::lambda_cost::{cost, duration, Measured};
use crate::{human_size, Table};

/// S3 Standard, us-east-1 (2026), per request: PUT, COPY, POST and LIST;
/// GET, HEAD and the rest but DELETE (free).
const PRICE_PUT_CLASS: f64 = 0.005 / 1_000.0;
const PRICE_GET_CLASS: f64 = 0.000_4 / 1_000.0;

/// Billed at the PUT price. `Other` (listings, bucket operations, deletes)
/// counts here too, an upper bound: deletes are free.
const PUT_CLASS: [S3Op; 6] = [
    S3Op::PutObject,
    S3Op::CopyObject,
    S3Op::CreateMultipartUpload,
    S3Op::UploadPart,
    S3Op::CompleteMultipartUpload,
    S3Op::Other,
];
/// Billed at the GET price (an abort is a DELETE, free, and not counted).
const GET_CLASS: [S3Op; 2] = [S3Op::GetObject, S3Op::HeadObject];

/// Requests by price class.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Requests {
    pub put_class: u64,
    pub get_class: u64,
}

impl Requests {
    /// What `s3` has counted so far.
    pub(crate) fn counted(s3: &LocalS3) -> Requests {
        let sum = |ops: &[S3Op]| ops.iter().map(|op| s3.request_count(*op)).sum();
        Requests {
            put_class: sum(&PUT_CLASS),
            get_class: sum(&GET_CLASS),
        }
    }

    /// The requests `s3` counted since `self` was.
    pub(crate) fn since(self, s3: &LocalS3) -> Requests {
        let now = Requests::counted(s3);
        Requests {
            put_class: now.put_class - self.put_class,
            get_class: now.get_class - self.get_class,
        }
    }

    pub(crate) fn dollars(self) -> f64 {
        self.put_class as f64 * PRICE_PUT_CLASS + self.get_class as f64 * PRICE_GET_CLASS
    }
}

pub(crate) fn print(rows: &[Measured]) {
    let mut table = Table::new(
        "S3 requests of one report and their cost, beside the Lambda cost",
        &[
            "function",
            "report",
            "PUT-class requests",
            "GET-class requests",
            "S3 requests $",
            "Lambda $ (1769 MB)",
            "S3 / Lambda",
        ],
    );
    for r in rows {
        let s3 = r.requests.dollars();
        let lambda = cost(duration(r.cpu_seconds, 1_769.0), 1_769.0);
        table.row(vec![
            r.function.to_string(),
            human_size(r.bytes),
            r.requests.put_class.to_string(),
            r.requests.get_class.to_string(),
            format!("{s3:.8}"),
            format!("{lambda:.8}"),
            format!("{:.0}", s3 / lambda.max(1e-12)),
        ]);
    }
    table.note(
        "Requests = what the embedded S3 server counted while the child ran (UpdateSite: its \
         median run), by S3's price classes: PutObject, CopyObject, the multipart calls and \
         the rest (listings; deletes, which are free, counted too: an upper bound) at $0.005 \
         per 1,000, GetObject and HeadObject at $0.0004 per 1,000 (S3 Standard, us-east-1). \
         Lambda $ as in the table above (the same at any memory size for CPU-bound work). \
         UpdateSite makes one PutObject per page (SITE_PAGE_ROWS, default about 5,000 cells a \
         page): larger pages, fewer requests.",
    );
    table.print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_thousand_puts_and_gets_then_they_cost_s3_standard_prices() {
        let r = Requests {
            put_class: 1_000,
            get_class: 1_000,
        };
        assert!((r.dollars() - 0.0054).abs() < 1e-12);
    }

    #[tokio::test]
    async fn given_a_put_and_a_get_then_each_is_counted_in_its_class() {
        // GIVEN the embedded server with a bucket
        let (dir, _) = crate::ScratchDir::for_s3("s3-cost-test", 0).unwrap();
        let s3 = LocalS3::start(dir.path()).await.unwrap();
        s3.create_bucket("site").unwrap();
        let before = Requests::counted(&s3);
        // WHEN one object is written and read back
        let client = local_services::s3::client(&s3);
        client
            .put_object()
            .bucket("site")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
        client
            .get_object()
            .bucket("site")
            .key("k")
            .send()
            .await
            .unwrap();
        // THEN one request of each class was counted since
        assert_eq!(
            before.since(&s3),
            Requests {
                put_class: 1,
                get_class: 1
            }
        );
        s3.shutdown().await;
    }
}
