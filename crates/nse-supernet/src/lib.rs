//! nse-supernet
