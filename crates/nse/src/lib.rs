//! nse
