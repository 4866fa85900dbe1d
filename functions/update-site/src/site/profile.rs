//! A report's profile: what the first pass learns (header, types, rows,
//! fingerprints), made with the gzip download by DownloadReport while the
//! report streams into the reports bucket, and stored beside it:
//!
//! - `<key>.profile.json`: [`Profile`], written last;
//! - `<key>.gz`: the download, the very bytes stored, gzipped;
//! - `<key>.rows.bin`: the fingerprints, for a report small enough.
//!
//! DownloadReport reads every byte anyway, mostly while it waits on the
//! reporting API; UpdateSite then reads the CSV once, not twice, and
//! compresses nothing: it copies the download inside S3 (make bench: the
//! first pass and deflate were two thirds of its CPU). UpdateSite uses a profile only if it names the ETag
//! and size of the CSV it reads; without one it makes both itself, as
//! `make render` does.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use shared::store::ObjectReader;

use super::columns::ColumnType;
use super::scan::{self, Scan};
use super::source::Tee;
use super::writes::read_all;
use crate::render::{Limits, RenderError};

/// The profile's format; another one is not read.
const VERSION: u32 = 1;

/// What `<key>.profile.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub version: u32,
    /// The CSV's ETag as its upload returned it.
    pub csv_etag: String,
    pub header: Vec<String>,
    pub types: Vec<ColumnType>,
    pub rows: u64,
    pub bytes: u64,
    /// Whether `<key>.rows.bin` holds the fingerprints (a report up to the
    /// diff size).
    pub fingerprints: bool,
}

impl Profile {
    pub fn new(scan: &Scan, csv_etag: &str) -> Self {
        Profile {
            version: VERSION,
            csv_etag: csv_etag.to_string(),
            header: scan.header.clone(),
            types: scan.types.clone(),
            rows: scan.rows,
            bytes: scan.bytes,
            fingerprints: scan.fingerprints.is_some(),
        }
    }

    /// The profile as the scan it stands for, if it describes the object
    /// with `etag` and `size` (fingerprints are added by the caller).
    pub fn scan_of(&self, etag: Option<&str>, size: u64) -> Option<Scan> {
        (self.version == VERSION
            && etag == Some(self.csv_etag.as_str())
            && size == self.bytes
            && self.types.len() == self.header.len())
        .then(|| Scan {
            header: self.header.clone(),
            types: self.types.clone(),
            rows: self.rows,
            bytes: self.bytes,
            fingerprints: None,
        })
    }
}

/// Where a CSV's profile, download and fingerprints are stored.
pub struct Keys {
    pub profile: String,
    pub gzip: String,
    pub rows: String,
}

pub fn keys(csv_key: &str) -> Keys {
    Keys {
        profile: format!("{csv_key}.profile.json"),
        gzip: format!("{csv_key}.gz"),
        rows: format!("{csv_key}.rows.bin"),
    }
}

/// The scan of `bucket`/`csv_key` from its profile (with its fingerprints
/// when the report is under `diff_max_bytes`), if there is one that names
/// this very object and the download beside it is there; else `None`, and
/// why, for the log.
pub(crate) async fn load<S: ObjectReader + ?Sized>(
    store: &S,
    bucket: &str,
    csv_key: &str,
    diff_max_bytes: u64,
) -> Result<Scan, String> {
    let keys = keys(csv_key);
    let read = |key: String| async move {
        read_all(store, bucket, &key)
            .await
            .map_err(|e| e.to_string())?
            .map(|(bytes, _)| bytes)
            .ok_or(format!("no {key}"))
    };
    let profile: Profile =
        serde_json::from_slice(&read(keys.profile.clone()).await?).map_err(|e| e.to_string())?;
    let csv = store
        .head(bucket, csv_key)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no CSV")?;
    let mut scanned = profile
        .scan_of(csv.etag.as_deref(), csv.size)
        .ok_or("the profile is of another version of the CSV")?;
    if scanned.bytes <= diff_max_bytes {
        if !profile.fingerprints {
            return Err("the profile has no fingerprints".into());
        }
        scanned.fingerprints =
            Some(scan::decode(&read(keys.rows).await?).ok_or("bad fingerprints")?);
    }
    store
        .head(bucket, &keys.gzip)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no download")?;
    Ok(scanned)
}

/// Reads `input` to its end, every byte copied into `gz`, and scans it as
/// the first pass does, checking UTF-8 as the second does. A report the scan refuses is still read to its end
/// (its download is then of no use; UpdateSite finds the same error
/// itself). The copy's error, if any, comes back apart from the scan's.
pub fn make<R: Read, W: Write>(
    input: R,
    gz: W,
    limits: &Limits,
    diff_max_bytes: u64,
) -> (Result<Scan, RenderError>, io::Result<W>) {
    let mut tee = Tee::new(input, gz);
    // The scan checks UTF-8 too: a report with a profile then fails the
    // second pass on nothing but a change or a storage error, so a bad
    // report never leaves pages of its own behind.
    let scanned = scan::scan(&mut tee, limits, diff_max_bytes);
    // The scan stops at its first error; the rest still goes to `gz`.
    let drained = io::copy(&mut tee, &mut io::sink());
    (scanned, drained.map(|_| tee.into_copy()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_csv_when_profiled_then_it_is_the_scan_and_every_byte_is_copied() {
        // GIVEN a report
        let csv = "id,amount\n1,9.5\n2,10\n";
        // WHEN profiled
        let (scanned, copy) = make(csv.as_bytes(), Vec::new(), &Limits::default(), u64::MAX);
        let scanned = scanned.unwrap();
        // THEN the copy is the report and the scan is the first pass's
        assert_eq!(copy.unwrap(), csv.as_bytes());
        let direct = scan::scan(csv.as_bytes(), &Limits::default(), u64::MAX).unwrap();
        assert_eq!(
            (scanned.header, scanned.types, scanned.rows, scanned.bytes),
            (direct.header, direct.types, direct.rows, direct.bytes)
        );
        assert_eq!(scanned.fingerprints, direct.fingerprints);
    }

    #[test]
    fn given_a_report_the_scan_refuses_when_profiled_then_the_rest_is_still_copied() {
        // GIVEN a ragged row early in a long report
        let mut csv = b"a,b\n1\n".to_vec();
        csv.extend(b"1,2\n".repeat(200_000));
        // WHEN profiled
        let (scanned, copy) = make(&csv[..], Vec::new(), &Limits::default(), u64::MAX);
        // THEN the scan fails and the copy is whole
        assert!(scanned.is_err());
        assert_eq!(copy.unwrap().len(), csv.len());
    }

    use std::collections::HashMap;
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use shared::store::MemoryStore;

    /// A store holding `csv` as `reports/rpt-1.csv`, and with `profile`
    /// (its rows replaced by `rows` when given) the profile, download and
    /// fingerprints DownloadReport stores beside it.
    fn stored(csv: &str, profile: Option<Option<u64>>) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::default());
        let key = "reports/rpt-1.csv";
        store.insert("reports", key, csv);
        if let Some(rows) = profile {
            let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let (scanned, gz) = make(csv.as_bytes(), gz, &Limits::default(), 20_000_000);
            let mut scanned = scanned.unwrap();
            scanned.rows = rows.unwrap_or(scanned.rows);
            let etag = store.get("reports", key).unwrap().etag;
            let k = keys(key);
            store.insert("reports", &k.gzip, gz.unwrap().finish().unwrap());
            let f = scanned.fingerprints.as_ref().unwrap();
            store.insert("reports", &k.rows, scan::encode(f));
            let p = serde_json::to_vec(&Profile::new(&scanned, &etag)).unwrap();
            store.insert("reports", &k.profile, p);
        }
        store
    }

    /// Every object UpdateSite published for `store`'s report.
    async fn publish(store: Arc<MemoryStore>) -> Vec<(String, Vec<u8>)> {
        let config = crate::Config::from_lookup(&HashMap::from([
            ("SITE_BUCKET", "site"),
            ("SITE_TITLE", "Daily"),
            ("SITE_PAGE_ROWS", "7"),
        ]))
        .unwrap();
        let event = json!({"report_id": "rpt-1", "created_at": "2026-01-01T00:00:00Z",
                           "bucket": "reports", "key": "reports/rpt-1.csv", "bytes": 10});
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap();
        crate::handle(store.clone(), &config, event, now)
            .await
            .unwrap();
        store
            .keys()
            .into_iter()
            .filter(|(bucket, _)| bucket == "site")
            .map(|(_, key)| {
                let data = store.get("site", &key).unwrap().data;
                (key, data)
            })
            .collect()
    }

    fn report() -> String {
        let mut csv = "id,amount,name\n".to_string();
        for i in 0..50 {
            csv.push_str(&format!("{i},{}.25,\"Zoë <{i}>\"\n", i * 1000));
        }
        csv
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_profile_beside_the_csv_when_published_then_the_site_is_the_same_as_without() {
        // GIVEN the same report with and without DownloadReport's profile
        let csv = report();
        // WHEN each is published at the same time
        let without = publish(stored(&csv, None)).await;
        let with = publish(stored(&csv, Some(None))).await;
        // THEN every object of the site is the same, the download included
        assert!(without.iter().any(|(k, _)| k.ends_with("report.csv.gz")));
        assert_eq!(with.len(), without.len());
        for ((k1, d1), (k2, d2)) in with.iter().zip(&without) {
            assert_eq!(k1, k2);
            assert!(d1 == d2, "{k1} differs");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn given_a_profile_the_pages_use_when_published_then_its_rows_are_the_ones_shown() {
        // GIVEN a profile that claims one row more than the CSV has (which
        // only a used profile can make a run fail on)
        let csv = report();
        let store = stored(&csv, Some(Some(51)));
        let config = crate::Config::from_lookup(&HashMap::from([("SITE_BUCKET", "site")])).unwrap();
        let event = json!({"report_id": "rpt-1", "created_at": "2026-01-01T00:00:00Z",
                           "bucket": "reports", "key": "reports/rpt-1.csv", "bytes": 10});
        // WHEN published
        let err = crate::handle(store.clone(), &config, event.clone(), Utc::now())
            .await
            .unwrap_err();
        // THEN the second pass finds the difference
        assert!(err.to_string().contains("the report changed"), "{err}");
        // AND once the CSV is replaced (another ETag), the profile is not used
        store.insert("reports", "reports/rpt-1.csv", format!("{csv}50,1,x\n"));
        let out = crate::handle(store, &config, event, Utc::now())
            .await
            .unwrap();
        assert_eq!(out.rows, 51);
    }

    #[test]
    fn given_a_report_that_is_not_utf8_when_profiled_then_there_is_no_profile() {
        let csv = b"name\nJos\xe9\n";
        let (scanned, copy) = make(&csv[..], Vec::new(), &Limits::default(), 0);
        assert!(scanned.unwrap_err().to_string().contains("UTF-8"));
        assert_eq!(copy.unwrap(), csv);
    }

    #[test]
    fn given_a_profile_when_its_etag_or_size_differ_then_it_is_not_used() {
        let csv = "k,v\n1,a\n";
        let s = scan::scan(csv.as_bytes(), &Limits::default(), u64::MAX).unwrap();
        let p = Profile::new(&s, "\"e1\"");
        let json = serde_json::to_string(&p).unwrap();
        let p: Profile = serde_json::from_str(&json).unwrap();
        let size = csv.len() as u64;
        assert_eq!(p.scan_of(Some("\"e1\""), size).map(|s| s.rows), Some(1));
        assert!(p.scan_of(Some("\"e2\""), size).is_none());
        assert!(p.scan_of(None, size).is_none());
        assert!(p.scan_of(Some("\"e1\""), size + 1).is_none());
    }
}
