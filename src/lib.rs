//! Maillage: run a Contrat Local de Santé (and its sister schemes) end to end.
//!
//! Layers (see ARCHITECTURE.md): `domain` (types and rules, no I/O),
//! `storage` (SQLite and PostgreSQL), `import` (open data), `web` (HTTP),
//! plus `accounts`, `demo`, `backup` and the command line in `cli`.

pub mod accounts;
pub mod backup;
pub mod cli;
pub mod config;
pub mod csv_export;
pub mod demo;
pub mod demo_agenda;
pub mod demo_contract;
pub mod demo_diagnosis;
pub mod demo_directory;
pub mod demo_evaluation;
pub mod demo_referrals;
pub mod diagnosis;
pub mod directory;
pub mod domain;
pub mod evaluation;
pub mod import;
pub mod jobs;
pub mod mail;
pub mod messaging;
pub mod plan;
pub mod region;
pub mod report;
pub mod storage;
pub mod territory_setup;
pub mod tokens;
pub mod web;
