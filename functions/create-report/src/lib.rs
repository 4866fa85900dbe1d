//! CreateReport
