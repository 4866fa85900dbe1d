//! Authentication and the API dialects (field names and status words).

use super::*;

#[tokio::test]
async fn given_a_bearer_token_when_a_request_lacks_it_then_401_and_with_it_then_served() {
    let sim = start(SimConfig {
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    let resp = http()
        .post(sim.create_url())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(sim.create_url())
        .bearer_auth("wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(sim.create_url())
        .bearer_auth("s3cret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = http()
        .get(sim.status_url("rpt-000001"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "status route is protected too");
    assert_eq!(
        sim.request_count(Route::Create),
        3,
        "unauthorized requests are counted"
    );
}

#[tokio::test]
async fn given_an_api_key_header_when_the_raw_token_is_in_it_then_served() {
    let sim = start(SimConfig {
        token: Some("k".into()),
        token_header: Some("x-api-key".into()),
        ..Default::default()
    })
    .await;
    let resp = http()
        .post(sim.create_url())
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = http()
        .post(sim.create_url())
        .header("x-api-key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn given_a_custom_dialect_when_polled_then_its_field_names_and_words_are_used() {
    let dialect = Dialect {
        status_field: "state".into(),
        in_progress: "running".into(),
        completed: "done".into(),
        failed: "error".into(),
        download_url_field: "url".into(),
        ..Default::default()
    };
    let sim = start(SimConfig {
        dialect,
        ..Default::default()
    })
    .await;
    let id = create(&sim).await;
    let s = poll(&sim, &id).await;
    assert_eq!((&s["state"], &s["url"]), (&json!("running"), &Value::Null));
    assert!(s.get("status").is_none());
    let s = poll(&sim, &id).await;
    assert_eq!(s["state"], "done");
    assert_eq!(s["url"], sim.download_url(&id));
}

#[tokio::test]
async fn given_dotted_dialect_fields_when_creating_and_polling_then_values_are_nested_objects() {
    let dialect = Dialect {
        report_id_field: "data.id".into(),
        status_url_field: "links.self".into(),
        status_field: "data.state".into(),
        download_url_field: "data.file.url".into(),
        ..Default::default()
    };
    let sim = start(SimConfig {
        dialect,
        polls_to_complete: 0,
        ..Default::default()
    })
    .await;
    let created: Value = http()
        .post(sim.create_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        created,
        json!({"data": {"id": "rpt-000001"}, "links": {"self": sim.status_url("rpt-000001")}})
    );
    let s = poll(&sim, "rpt-000001").await;
    assert_eq!(
        s,
        json!({"data": {"id": "rpt-000001", "state": "COMPLETED", "file": {"url": sim.download_url("rpt-000001")}}})
    );
    let vars = sim.env_vars();
    assert!(vars.contains(&("REPORT_STATUS_FIELD", "data.state".to_string())));
    assert!(vars.contains(&("REPORT_API_URL", sim.base_url().to_string())));
    assert!(
        !vars.iter().any(|(n, _)| *n == "REPORT_STATUS_COMPLETED"),
        "defaults are not repeated"
    );
}
