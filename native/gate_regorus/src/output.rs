//! A rule's value as Python objects, without JSON text in between: what
//! `json.loads(value.to_json_str())` makes of it (lists for arrays and sets, sorted
//! dicts, each number an int or a float as its JSON text reads), at a fraction of the cost
//! of regorus's pretty-printed JSON and Python's parser. A value with a key that is not a
//! string (JSON has none; regorus writes the key's JSON text) takes the JSON path whole.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use regorus::Value;

enum Failure {
    /// Only the JSON path gives the answer.
    NeedsJson,
    Python(PyErr),
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

impl From<std::convert::Infallible> for Failure {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// `value` as Python objects, as `json.loads` of its JSON text makes them.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    match convert(py, value) {
        Ok(object) => Ok(object),
        Err(Failure::Python(e)) => Err(e),
        Err(Failure::NeedsJson) => {
            let text = value.to_json_str().map_err(super::runtime_error)?;
            py.import("json")?.call_method1("loads", (text,))
        }
    }
}

fn convert<'py>(py: Python<'py>, value: &Value) -> Result<Bound<'py, PyAny>, Failure> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::String(s) => s.as_ref().into_pyobject(py)?.into_any(),
        Value::Number(_) => number(py, value)?,
        Value::Array(items) => list(py, items.iter())?,
        Value::Set(items) => list(py, items.iter_sorted())?,
        Value::Object(fields) => {
            let dict = PyDict::new(py);
            for (key, item) in fields.iter_sorted() {
                let Value::String(key) = key else { return Err(Failure::NeedsJson) };
                dict.set_item(key.as_ref(), convert(py, item)?)?;
            }
            dict.into_any()
        }
        Value::Undefined => "<undefined>".into_pyobject(py)?.into_any(),
    })
}

fn list<'a, 'py>(py: Python<'py>, items: impl Iterator<Item = &'a Value>) -> Result<Bound<'py, PyAny>, Failure> {
    let converted = items.map(|item| convert(py, item)).collect::<Result<Vec<_>, _>>()?;
    Ok(PyList::new(py, converted)?.into_any())
}

/// A number as its JSON text reads in Python: a float when it has a fraction or an
/// exponent, else an int (of any size).
fn number<'py>(py: Python<'py>, value: &Value) -> Result<Bound<'py, PyAny>, Failure> {
    let text = value.to_json_str().map_err(|_| Failure::NeedsJson)?;
    if text.contains(['.', 'e', 'E']) {
        let float: f64 = text.parse().map_err(|_| Failure::NeedsJson)?;
        return Ok(float.into_pyobject(py)?.into_any());
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(n.into_pyobject(py)?.into_any());
    }
    if let Ok(n) = text.parse::<u64>() {
        return Ok(n.into_pyobject(py)?.into_any());
    }
    Err(Failure::NeedsJson)
}
