//! Reads user_events tracepoints the way a local agent does (perf ring buffers). Written by the `listen` work.
