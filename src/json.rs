//! A small JSON writer: what the trace file and `/stats.json` are written with.
//!
//! The loop writes two kinds of JSON: the Chrome trace-event file (`trace/`), and statistics for
//! a dashboard (`RuntimeStats::to_json`, `WorkerStats::to_json`, and whatever a service adds, as
//! `examples/llm_server` does). Both are flat records of numbers and short strings, so a writer
//! of ~150 lines does: no serde, no derive, no dependency. Reading JSON is never needed at run
//! time (the tests parse what is written here with `serde_json`, a dev-dependency).
//!
//! ```text
//! let mut out = String::new();
//! {
//!     let mut stats = Object::new(&mut out);       // {
//!     stats.u64("polls", 42);                      //   "polls":42,
//!     let mut lag = stats.object("loop_lag");      //   "loop_lag":{
//!     lag.f64("max_ms", 1.5, 3);                   //     "max_ms":1.500
//! }                                                // }}   closed as each writer is dropped
//! ```
//!
//! A writer closes its brace or bracket when it is dropped, so a nested object cannot be left
//! open; Rust's borrow rules make sure only the innermost open writer can be written to.
//!
//! Numbers: integers are written as they are; floats with a fixed number of decimals, and
//! `null` for NaN or infinity (JSON has no such numbers). Strings are escaped as RFC 8259 asks:
//! `"`, `\` and the control characters.

use std::fmt::Write;

/// A JSON object being written: `{"key":value,...}`. Closed (`}`) when dropped.
pub struct Object<'a> {
    /// Where the text goes.
    out: &'a mut String,
    /// No field written yet (so no comma before the next one).
    first: bool,
}

/// A JSON array being written: `[value,...]`. Closed (`]`) when dropped.
pub struct Array<'a> {
    /// Where the text goes.
    out: &'a mut String,
    /// No element written yet.
    first: bool,
}

impl<'a> Object<'a> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, first: true }
    }

    /// Writes `"key":` (with the comma before it when needed).
    fn key(&mut self, key: &str) -> &mut String {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    /// `"key":value` for an unsigned integer.
    pub fn u64(&mut self, key: &str, value: u64) {
        let out = self.key(key);
        let _ = write!(out, "{value}");
    }

    /// `"key":value` for a signed integer.
    pub fn i64(&mut self, key: &str, value: i64) {
        let out = self.key(key);
        let _ = write!(out, "{value}");
    }

    /// `"key":value` for a float, with `decimals` digits after the point (`null` if not finite).
    pub fn f64(&mut self, key: &str, value: f64, decimals: usize) {
        let out = self.key(key);
        float(out, value, decimals);
    }

    /// `"key":"value"`, escaped.
    pub fn str(&mut self, key: &str, value: &str) {
        let out = self.key(key);
        string(out, value);
    }

    /// `"key":true` or `"key":false`.
    pub fn bool(&mut self, key: &str, value: bool) {
        let out = self.key(key);
        out.push_str(if value { "true" } else { "false" });
    }

    /// `"key":null`.
    pub fn null(&mut self, key: &str) {
        self.key(key).push_str("null");
    }

    /// `"key":{...}`: the returned writer fills the nested object.
    pub fn object(&mut self, key: &str) -> Object<'_> {
        Object::new(self.key(key))
    }

    /// `"key":[...]`: the returned writer fills the nested array.
    pub fn array(&mut self, key: &str) -> Array<'_> {
        Array::new(self.key(key))
    }

    /// `"key":` followed by `json` as it is: for a value written by another writer (the caller
    /// vouches that it is valid JSON).
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }
}

impl<'a> Array<'a> {
    /// Opens an array at the end of `out`.
    pub fn new(out: &'a mut String) -> Array<'a> {
        out.push('[');
        Array { out, first: true }
    }

    /// The comma before an element, when needed.
    fn next(&mut self) -> &mut String {
        if !std::mem::take(&mut self.first) {
            self.out.push(',');
        }
        self.out
    }

    /// An unsigned integer element.
    pub fn u64(&mut self, value: u64) {
        let out = self.next();
        let _ = write!(out, "{value}");
    }

    /// A float element with `decimals` digits after the point (`null` if not finite).
    pub fn f64(&mut self, value: f64, decimals: usize) {
        let out = self.next();
        float(out, value, decimals);
    }

    /// A string element, escaped.
    pub fn str(&mut self, value: &str) {
        let out = self.next();
        string(out, value);
    }

    /// An object element: the returned writer fills it.
    pub fn object(&mut self) -> Object<'_> {
        Object::new(self.next())
    }

    /// An array element: the returned writer fills it.
    pub fn array(&mut self) -> Array<'_> {
        Array::new(self.next())
    }

    /// An element written by another writer, as it is.
    pub fn raw(&mut self, json: &str) {
        self.next().push_str(json);
    }
}

impl Drop for Object<'_> {
    fn drop(&mut self) {
        self.out.push('}');
    }
}

impl Drop for Array<'_> {
    fn drop(&mut self) {
        self.out.push(']');
    }
}

/// Writes `value` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub fn string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a float with `decimals` digits after the point, or `null` when it is not finite.
pub fn float(out: &mut String, value: f64, decimals: usize) {
    if value.is_finite() {
        let _ = write!(out, "{value:.decimals$}");
    } else {
        out.push_str("null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_objects_and_arrays_close_in_order() {
        let mut out = String::new();
        {
            let mut o = Object::new(&mut out);
            o.u64("a", 1);
            {
                let mut inner = o.object("b");
                inner.f64("c", 1.5, 2);
                inner.bool("d", true);
                inner.null("e");
            }
            let mut list = o.array("f");
            list.u64(1);
            list.str("two");
            list.object().i64("g", -3);
            list.f64(f64::NAN, 1);
        }
        assert_eq!(
            out,
            r#"{"a":1,"b":{"c":1.50,"d":true,"e":null},"f":[1,"two",{"g":-3},null]}"#
        );
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }

    #[test]
    fn raw_values_go_in_as_they_are() {
        let mut out = String::new();
        Object::new(&mut out).raw("inner", "[1,2]");
        assert_eq!(out, r#"{"inner":[1,2]}"#);
    }
}
