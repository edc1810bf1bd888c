//! Maillage's integration tests, in one test binary (built and linked once
//! instead of once per file): a module per area. `common` holds the test
//! bench (fresh databases on both backends, the real server on port 0, the
//! `both!` macro that runs a test on SQLite and PostgreSQL).
//!
//! Run one area with `cargo nextest run --test it <module>::`, e.g.
//! `cargo nextest run --test it agenda_http::`.

#[macro_use]
mod common;

mod activity_http;
mod agenda_bugs;
mod agenda_cache;
mod agenda_http;
mod agenda_storage;
mod attendance_http;
mod backup_drill;
mod care_supply_storage;
mod cli;
mod contract_http;
mod contract_storage;
mod demo_http;
mod diagnosis_http;
mod diagnosis_pysal;
mod directory_http;
mod directory_storage;
mod e2e;
mod evaluation_http;
mod finess_plus;
mod geo_reference_storage;
mod hardening_http;
mod http;
mod import_lock;
mod mail_tls;
mod messages;
mod microcache_http;
mod multi_process;
mod ops_http;
mod participation_http;
mod participation_storage;
mod plan_http;
mod plan_storage;
mod public_queries;
mod referrals_http;
mod region_agenda_http;
mod region_http;
mod report_formats;
mod reviews_http;
mod rpps_stream;
mod schemathesis;
mod slots_http;
mod slots_storage;
mod storage;
