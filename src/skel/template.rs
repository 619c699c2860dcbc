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
    for (import, import_source) in imports {
        env.add_template(import, import_source)
            .map_err(|e| failed(&e))?;
    }
    env.add_template(name, source).map_err(|e| failed(&e))?;
    let template = env.get_template(name).map_err(|e| failed(&e))?;
    template.render(context).map_err(|e| failed(&e))
}
