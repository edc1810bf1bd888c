//! The micro-cache of anonymous public pages under a burst, on the real
//! server: when a page's copy expires, one request renders it again and
//! the others get the expired copy or wait for that render.

use std::time::Duration;

use crate::common;

use common::{Backend, TestApp};

async fn a_burst_at_an_expired_page_renders_it_once(backend: Backend) {
    let ttl = Duration::from_secs(2);
    let config = maillage::config::Config {
        public_cache_ttl: ttl,
        metrics: true,
        ..Default::default()
    };
    let app = TestApp::start_with(backend, config).await;
    let cache = &app.state.cache;
    let home = app.url("/t/lens-lievin/");
    let c = app.client();
    let first = c.get(&home).send().await.unwrap().text().await.unwrap();
    assert!(first.contains("Communauté d&#39;agglomération"));
    assert_eq!(cache.count("rendered"), 1);

    // The copy expires; then 50 visitors ask for the page at once, each on
    // its own connection.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let burst: Vec<_> = (0..50)
        .map(|_| {
            let url = home.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let r = client.get(&url).send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    for t in burst {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, first, "the same page for everyone");
    }
    assert_eq!(
        cache.count("rendered"),
        2,
        "one render for the burst (stale {}, waited {}, hit {})",
        cache.count("stale"),
        cache.count("waited"),
        cache.count("hit")
    );
    assert_eq!(cache.count("alone"), 0);
    assert_eq!(
        cache.count("stale") + cache.count("waited") + cache.count("hit"),
        49
    );

    // The figures are on /metrics for the operator.
    let metrics = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("maillage_public_cache_requests_total{outcome=\"rendered\"} 2"),
        "{metrics}"
    );
    app.stop().await;
}
both!(a_burst_at_an_expired_page_renders_it_once);
