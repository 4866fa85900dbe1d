//! PollReport
