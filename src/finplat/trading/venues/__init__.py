"""Venues: where orders work. `simulated` fills against market quotes (paper trading);
`internal` matches customers' orders in a central limit order book."""
