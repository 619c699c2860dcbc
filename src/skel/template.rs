//! The minijinja set-up both skeleton renderers share: strict about undefined values, block
//! tags leave no blank lines, the trailing newline kept.

use crate::error::{Error, Result};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

/// Renders template `source` (called `name` in error messages) with `context`.
pub fn render(name: &str, source: &str, context: Value) -> Result<String> {
    render_with(name, source, &[], context)
}

/// Renders template `source` like [`render`], with `imports` (name, source) available to its
/// `{% import %}` tags.
pub fn render_with(
    name: &str,
    source: &str,
    imports: &[(&str, &str)],
    context: Value,
) -> Result<String> {
    let failed = |e: &dyn std::fmt::Display| Error::environment(format!("template {name}: {e}"));
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| failed(&e))?;
    env.set_syntax(syntax);
    env.add_filter("length", length);
    for (import, import_source) in imports {
        env.add_template(import, import_source)
            .map_err(|e| failed(&e))?;
    }
    env.add_template(name, source).map_err(|e| failed(&e))?;
    let template = env.get_template(name).map_err(|e| failed(&e))?;
    template.render(context).map_err(|e| failed(&e))
}

/// What a template sees of a model value. minijinja is built without its serde support and
/// builtin filters, and the models derive nothing: a build.rs then compiles no proc-macro
/// stack for bpfgen, and minijinja no longer waits for serde.
pub trait ToValue {
    /// This value as the templates see it.
    fn to_value(&self) -> Value;
}

/// Implements [`ToValue`] for a struct as a map of the listed fields, by name.
macro_rules! template_record {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::skel::template::ToValue for $ty {
            fn to_value(&self) -> minijinja::Value {
                minijinja::Value::from(std::collections::BTreeMap::from([$((
                    stringify!($field).to_string(),
                    $crate::skel::template::ToValue::to_value(&self.$field),
                )),+]))
            }
        }
    };
}
pub(super) use template_record;

macro_rules! plain_values {
    ($($ty:ty),+) => {$(
        impl ToValue for $ty {
            fn to_value(&self) -> Value {
                Value::from(self.clone())
            }
        }
    )+};
}
plain_values!(String, &str, bool, u32, u64, usize);

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::from(()), ToValue::to_value)
    }
}

impl<T: ToValue> ToValue for [T] {
    fn to_value(&self) -> Value {
        Value::from(self.iter().map(ToValue::to_value).collect::<Vec<_>>())
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        self.as_slice().to_value()
    }
}

impl<T: ToValue, const N: usize> ToValue for [T; N] {
    fn to_value(&self) -> Value {
        self.as_slice().to_value()
    }
}

impl<A: ToValue, B: ToValue> ToValue for (A, B) {
    fn to_value(&self) -> Value {
        Value::from(vec![self.0.to_value(), self.1.to_value()])
    }
}

/// The one builtin filter the templates use: the number of items of a list.
fn length(value: &Value) -> std::result::Result<usize, minijinja::Error> {
    value.len().ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot take the length of {}", value.kind()),
        )
    })
}
