//! nse-space
