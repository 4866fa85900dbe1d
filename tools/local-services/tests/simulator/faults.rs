//! Faults queued or configured: errors, delays, truncation, stalls, bad bodies, disconnects.

use super::*;

#[tokio::test]
async fn given_a_queued_503_with_retry_after_when_requested_twice_then_fault_first_and_normal_answer_second(
) {
    let sim = start(SimConfig {
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    sim.push_fault(Route::Status, Fault::retry_after(503, 2));
    let resp = http().get(sim.status_url(&id)).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(poll(&sim, &id).await["status"], "COMPLETED");
    assert_eq!(sim.request_count(Route::Status), 2);
    assert_eq!(sim.reports()[0].polls, 1, "the faulted poll did not count");
    assert_eq!(sim.pending_faults(Route::Status), 0);
}

#[tokio::test]
async fn given_faults_in_the_config_when_creating_then_they_apply_in_order_and_create_nothing() {
    let config = SimConfig {
        faults: vec![
            (Route::Create, Fault::status(500)),
            (Route::Create, Fault::status(429)),
        ],
        ..Default::default()
    };
    let sim = start(config).await;
    for expected in [500, 429, 201] {
        let resp = http()
            .post(sim.create_url())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), expected);
    }
    assert_eq!(sim.reports().len(), 1);
    assert_eq!(sim.reports()[0].id, "rpt-000001");
}

#[tokio::test]
async fn given_a_delay_fault_when_requested_then_headers_come_after_the_delay() {
    let sim = start(SimConfig::default()).await;
    sim.push_fault(Route::Create, Fault::Delay { ms: 300 });
    let t = Instant::now();
    let resp = http().post(sim.create_url()).send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn given_a_truncate_fault_when_downloading_then_content_length_is_full_but_the_body_ends_early(
) {
    let spec = CsvSpec::new(2_000, 3);
    let sim = start(SimConfig {
        csv: spec,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    sim.push_fault(Route::Download, Fault::Truncate { after_bytes: 1000 });
    let mut resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert_eq!(resp.content_length(), Some(spec.exact_len()));
    let mut got = 0;
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got += c.len(),
            Ok(None) => panic!("body ended cleanly after {got} bytes"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 1000, "{err}");
}

#[tokio::test]
async fn given_a_stall_fault_when_downloading_then_the_body_stops_and_a_read_timeout_fires() {
    let sim = start(SimConfig {
        csv: CsvSpec::new(2_000, 3),
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    sim.push_fault(Route::Download, Fault::Stall { after_bytes: 100 });
    let client = reqwest::Client::builder()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut resp = client.get(sim.download_url(&id)).send().await.unwrap();
    let mut got = 0;
    let t = Instant::now();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got += c.len(),
            Ok(None) => panic!("body ended"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, 100);
    assert!(err.is_timeout(), "{err}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Shutdown must not wait for the stalled connection.
    tokio::time::timeout(Duration::from_secs(2), sim.shutdown())
        .await
        .unwrap();
}

#[tokio::test]
async fn given_malformed_and_unknown_status_faults_when_polled_then_bad_json_then_an_unknown_word()
{
    let sim = start(SimConfig::default()).await;
    let id = create(&sim).await;
    sim.push_fault(Route::Status, Fault::MalformedJson);
    sim.push_fault(Route::Status, Fault::UnknownStatus("QUEUED".into()));
    let resp = http().get(sim.status_url(&id)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(serde_json::from_slice::<Value>(&resp.bytes().await.unwrap()).is_err());
    assert_eq!(poll(&sim, &id).await["status"], "QUEUED");
    assert_eq!(poll(&sim, &id).await["status"], "IN_PROGRESS");
    assert_eq!(sim.reports()[0].polls, 1);
}

#[tokio::test]
async fn given_a_download_body_override_when_downloading_then_the_exact_bytes_are_served() {
    let raw: &[u8] = b"id,name\n1,\xff\xfe broken\n2,too,many,cells\n";
    let sim = start(SimConfig {
        download_body: Some(raw.to_vec().into()),
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert_eq!(resp.content_length(), Some(raw.len() as u64));
    assert_eq!(&resp.bytes().await.unwrap()[..], raw);
}

#[tokio::test]
async fn given_a_body_fault_when_downloading_then_that_code_type_and_body_are_served() {
    let sim = start(SimConfig::default()).await;
    let id = create(&sim).await;
    let html = "<!DOCTYPE html><p>maintenance</p>";
    sim.push_fault(
        Route::Download,
        Fault::Body {
            code: 200,
            content_type: "text/html".into(),
            body: html.into(),
        },
    );
    let resp = http().get(sim.download_url(&id)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/html");
    assert_eq!(resp.text().await.unwrap(), html);
}

#[tokio::test]
async fn given_a_disconnect_fault_when_creating_then_no_response_arrives_and_the_retry_succeeds() {
    let sim = start(SimConfig::default()).await;
    sim.push_fault(Route::Create, "disconnect".parse().unwrap());
    let err = http().post(sim.create_url()).send().await.unwrap_err();
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        http().post(sim.create_url()).send().await.unwrap().status(),
        201
    );
    assert_eq!(sim.request_count(Route::Create), 2);
}

#[test]
fn given_cli_fault_specs_when_parsed_then_they_map_to_faults() {
    assert_eq!("503".parse::<Fault>().unwrap(), Fault::status(503));
    assert_eq!(
        "429:retry-after=2".parse::<Fault>().unwrap(),
        Fault::retry_after(429, 2)
    );
    assert_eq!("delay=5".parse::<Fault>().unwrap(), Fault::Delay { ms: 5 });
    assert_eq!(
        "stall=7".parse::<Fault>().unwrap(),
        Fault::Stall { after_bytes: 7 }
    );
    assert_eq!(
        "truncate=9".parse::<Fault>().unwrap(),
        Fault::Truncate { after_bytes: 9 }
    );
    assert_eq!("malformed".parse::<Fault>().unwrap(), Fault::MalformedJson);
    assert_eq!(
        "unknown=QUEUED".parse::<Fault>().unwrap(),
        Fault::UnknownStatus("QUEUED".into())
    );
    assert_eq!("disconnect".parse::<Fault>().unwrap(), Fault::Disconnect);
    assert!("explode".parse::<Fault>().is_err());
    assert_eq!("download".parse::<Route>().unwrap(), Route::Download);
}
