//! crowdfund-api against the real MariaDB on 127.0.0.1:3306: each test gets its own database.

mod helpers;

mod fundings;
mod outbox;
mod payments;
mod projects;
mod service;
