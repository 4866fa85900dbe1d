//! DownloadReport
