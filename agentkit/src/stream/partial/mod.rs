//! Reading a JSON text that is still being written.
//!
//! Under a grammar every prefix a model writes is the start of a valid
//! value, so a prefix can always be closed: an unfinished string is ended
//! where it stops, a key without its value is left out, a half-written
//! `tru` or `1e` is dropped, and open arrays and objects are closed.
//! [`read`] does that and also notes which array elements are finished.
//! [`fill`] then completes a closed prefix into a value of the output's
//! shape, filling what is not written yet from the schema, so it parses into
//! the output type.

mod prefix;
mod shape;

pub(crate) use prefix::{read, Prefix};
pub(crate) use shape::fill;
