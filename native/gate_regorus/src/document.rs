//! A Python document (what `json.loads` makes, and tuples) as a regorus value, without
//! JSON text in between: `json.dumps` and regorus's JSON parser cost about three times the
//! conversion, and more than the policies themselves on a scan of 1,000 findings.
//!
//! It builds exactly the value regorus's parser builds from `json.dumps(document)`
//! (non-negative ints as unsigned, negative as signed, floats as f64, object keys shared
//! within a document), and refuses (`Unconvertible`) whatever it could build otherwise:
//! the caller then takes the JSON path, whose answer (an error for NaN or a type JSON
//! lacks, a string for an int key) stays the one reference.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use regorus::Value;

pyo3::create_exception!(
    gate_regorus,
    Unconvertible,
    pyo3::exceptions::PyException,
    "The document holds a value the direct conversion leaves to the JSON path."
);

/// Below serde_json's nesting limit (128), which the JSON path enforces.
const MAX_DEPTH: usize = 100;

/// `document` as a regorus value, or `Unconvertible`.
pub fn to_value(document: &Bound<'_, PyAny>) -> PyResult<Value> {
    Converter::default().value(document, 0)
}

/// A part of a document converted once (an image's scan findings, say), to be placed in
/// the documents of many evaluations: the conversion takes its value as it is (one atomic
/// reference count more), so facts kept for many evaluations are converted once. It keeps
/// the value only: `to_python()` gives it back as Python objects for the JSON path.
#[pyclass(frozen, module = "gate_regorus")]
pub struct Converted {
    value: Value,
    /// The deepest nesting of objects and arrays in it, checked where it is placed.
    depth: usize,
}

#[pymethods]
impl Converted {
    /// `document` converted; `Unconvertible` as for a whole document.
    #[new]
    fn new(document: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut converter = Converter::default();
        let value = converter.value(document, 0)?;
        Ok(Converted { value, depth: converter.deepest })
    }

    /// The value as Python objects (what `json.loads` makes of its JSON text).
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::output::to_python(py, &self.value)
    }
}

fn unconvertible(what: &str) -> PyErr {
    Unconvertible::new_err(what.to_string())
}

/// Object keys seen so far: a key shared by 1,000 findings is one string. Looked up first
/// by the key object's address (the dicts of one document share their key objects:
/// `json.loads` and string literals do), then by text, which costs a hash of the text
/// and reading it as UTF-8 again. Addresses stay valid: the GIL is held and no Python
/// code runs while a document is converted, so no object is freed or moved meanwhile.
#[derive(Default)]
struct Converter {
    by_object: HashMap<usize, Value, BuildHasherDefault<AddressHasher>>,
    by_text: HashMap<String, Value>,
    deepest: usize,
}

/// An object address as a hash: one multiply spreads it, the fold moves the high bits
/// down (the low bits of an aligned address are zero).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let mixed = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 32);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Converter {
    fn value(&mut self, obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Value::from(s.to_str().map_err(|_| unconvertible("a string with a lone surrogate"))?));
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return self.object(dict, depth + 1);
        }
        if let Ok(list) = obj.cast::<PyList>() {
            return self.array(list.iter(), depth + 1);
        }
        if obj.is_none() {
            return Ok(Value::Null);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Value::Bool(b.is_true()));
        }
        if obj.is_instance_of::<PyInt>() {
            return integer(obj);
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            let v = f.value();
            if !v.is_finite() {
                return Err(unconvertible("a non-finite float"));
            }
            return Ok(Value::from(v));
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            return self.array(tuple.iter(), depth + 1);
        }
        if let Ok(part) = obj.cast::<Converted>() {
            let part = part.get();
            if depth + part.depth > MAX_DEPTH {
                return Err(unconvertible("nesting deeper than the JSON parser reads"));
            }
            self.deepest = self.deepest.max(depth + part.depth);
            return Ok(part.value.clone());
        }
        Err(unconvertible("a type JSON has no form for"))
    }

    fn object(&mut self, dict: &Bound<'_, PyDict>, depth: usize) -> PyResult<Value> {
        if depth > MAX_DEPTH {
            return Err(unconvertible("nesting deeper than the JSON parser reads"));
        }
        self.deepest = self.deepest.max(depth);
        // Collected, then built at once: BTreeMap sorts the entries and builds its nodes
        // without searching them per key.
        let mut entries = Vec::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let key = key.cast::<PyString>().map_err(|_| unconvertible("a key that is not a string"))?;
            entries.push((self.key(key)?, self.value(&item, depth)?));
        }
        Ok(Value::from(entries.into_iter().collect::<BTreeMap<_, _>>()))
    }

    fn array<'py>(&mut self, items: impl Iterator<Item = Bound<'py, PyAny>>, depth: usize) -> PyResult<Value> {
        if depth > MAX_DEPTH {
            return Err(unconvertible("nesting deeper than the JSON parser reads"));
        }
        self.deepest = self.deepest.max(depth);
        let values = items.map(|item| self.value(&item, depth)).collect::<PyResult<Vec<_>>>()?;
        Ok(Value::from(values))
    }

    fn key(&mut self, key: &Bound<'_, PyString>) -> PyResult<Value> {
        let address = key.as_ptr() as usize;
        if let Some(shared) = self.by_object.get(&address) {
            return Ok(shared.clone());
        }
        let text = key.to_str().map_err(|_| unconvertible("a key with a lone surrogate"))?;
        let value = match self.by_text.get(text) {
            Some(shared) => shared.clone(),
            None => {
                let value = Value::from(text);
                self.by_text.insert(text.to_string(), value.clone());
                value
            }
        };
        self.by_object.insert(address, value.clone());
        Ok(value)
    }
}

/// As serde_json reads an integer: unsigned when non-negative, else signed; wider ones
/// (which it reads as floats) are left to the JSON path.
fn integer(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(n) = obj.extract::<u64>() {
        return Ok(Value::from(n));
    }
    if let Ok(n) = obj.extract::<i64>() {
        return Ok(Value::from(n));
    }
    Err(unconvertible("an integer beyond 64 bits"))
}
