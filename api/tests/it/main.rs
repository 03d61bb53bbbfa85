//! End-to-end tests of the REST API: a real server on port 0 over HTTP, on both backends.

mod common;

mod assets;
mod auth;
mod chunks;
mod cli;
mod cluster;
mod codes;
mod compat;
mod dashboard;
mod dashboard_sso;
mod devices;
mod e2e;
mod faults;
mod fidelity;
mod gates;
mod genesys;
mod glance;
mod input;
mod keys;
mod layers;
mod lists;
mod login;
mod openapi;
mod ops;
mod policy;
mod realtime;
mod reaper;
mod sessions;
mod sockets;
mod sockets_policy;
mod sso;
mod streams;
mod tenancy;
mod ws;
mod zipped;
