//! gate's binding to the regorus Rego interpreter.
//!
//! regorus's own Python binding keeps the GIL while it evaluates, so the images of one
//! admission review run one after another in a worker however many threads it has. This
//! binding evaluates with the GIL released: each thread keeps its own engine (gate's
//! embedded engine already does), and the threads of a worker use every core.
//! Semantics are regorus's defaults (Rego v1, strict builtin errors), as in its binding.
//! The input is the JSON text (`eval_rule`) or the Python document itself
//! (`eval_rule_document`, converted without JSON text in between, see `document.rs`).
//! `regex.match` keeps its compiled expressions whole per thread (`regex_match.rs`).

mod document;
mod output;
mod regex_match;

use std::panic::{self, AssertUnwindSafe};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use regorus::Value;

use document::{to_value, Unconvertible};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn runtime_error(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

/// A regorus engine: policies and data are added once, then rules evaluated per input.
#[pyclass(module = "gate_regorus")]
struct Engine {
    inner: regorus::Engine,
}

#[pymethods]
impl Engine {
    #[new]
    fn new() -> PyResult<Self> {
        let mut inner = regorus::Engine::new();
        inner
            .add_extension(
                regex_match::NAME.to_string(),
                regex_match::ARGUMENTS,
                Box::new(regex_match::regex_match),
            )
            .map_err(runtime_error)?;
        Ok(Engine { inner })
    }

    /// A copy that shares this engine's parsed and compiled policies and its data
    /// (regorus keeps them behind atomic reference counts), for another thread: it costs
    /// a fraction of adding the policies again, in time and in memory. Evaluations on the
    /// two are independent; a copy of a copy is as good. Copy an engine that was
    /// evaluated once, so that its policies are compiled for evaluation already.
    fn copy(&self) -> Engine {
        Engine { inner: self.inner.clone() }
    }

    /// Add a policy module; returns its package (`data.x.y`). ValueError when it does
    /// not parse.
    fn add_policy(&mut self, path: String, source: String) -> PyResult<String> {
        self.inner.add_policy(path, source).map_err(value_error)
    }

    /// Merge a JSON document into the data. ValueError on bad JSON or a conflict.
    fn add_data_json(&mut self, data_json: &str) -> PyResult<()> {
        let data = Value::from_json_str(data_json).map_err(value_error)?;
        self.inner.add_data(data).map_err(value_error)
    }

    /// `rule` (e.g. `data.gate.main.decision`) on the input `input_json`: its value as
    /// JSON text, or None when it is undefined. The GIL is released while it runs.
    /// RuntimeError when the evaluation fails (a builtin error, a conflict).
    fn eval_rule(&mut self, py: Python<'_>, rule: String, input_json: &str) -> PyResult<Option<String>> {
        let engine = &mut self.inner;
        py.detach(move || {
            let input = Value::from_json_str(input_json).map_err(value_error)?;
            match evaluate(engine, rule, input)? {
                Value::Undefined => Ok(None),
                value => value.to_json_str().map(Some).map_err(runtime_error),
            }
        })
    }

    /// As `eval_rule`, on a document of dicts, lists, tuples, strings, ints, floats,
    /// booleans and None, converted to regorus values directly (no JSON text): it
    /// decides as `eval_rule` on `json.dumps(document)`. `Unconvertible` for anything
    /// else (a non-string key, NaN, an int beyond 64 bits, another type, deep nesting):
    /// the caller takes the JSON path, which knows what JSON makes of it. The value
    /// comes back as Python objects (what `json.loads` makes of `eval_rule`'s text), or
    /// None when it is undefined.
    fn eval_rule_document<'py>(
        &mut self,
        py: Python<'py>,
        rule: String,
        document: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let input = to_value(document)?;
        let engine = &mut self.inner;
        match py.detach(move || evaluate(engine, rule, input))? {
            Value::Undefined => Ok(py.None().into_bound(py)),
            value => output::to_python(py, &value),
        }
    }
}

/// `rule` on `input`: its value (Undefined when undefined).
fn evaluate(engine: &mut regorus::Engine, rule: String, input: Value) -> PyResult<Value> {
    // A panic in regorus is an evaluation that failed (gate denies), never an
    // exception Python code does not expect (PanicException is a BaseException).
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        engine.set_input(input);
        engine.eval_rule(rule)
    }));
    match outcome {
        Ok(result) => result.map_err(runtime_error),
        Err(_) => Err(runtime_error("regorus panicked while evaluating")),
    }
}

#[pymodule]
fn gate_regorus(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add("Unconvertible", m.py().get_type::<Unconvertible>())?;
    Ok(())
}
