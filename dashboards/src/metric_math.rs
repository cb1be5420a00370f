//! The CloudWatch metric math the generated single-value widgets use, evaluated here over one
//! datapoint per metric (a widget with `setPeriodToTimeRange`: the whole range is one period).
//!
//! It lets the figures a stakeholder sees be computed from any metric history — the local
//! world's for the PNG report, a test's — by the dashboard's own expressions, instead of by a
//! second formula that could drift from them. It covers what the generator writes: numbers,
//! ids, `+ - * /`, comparisons, parentheses, and `IF`, `FILL`, `EPOCH`, `PERIOD`. A missing
//! datapoint is `None` and spreads through arithmetic, as a blank does on a dashboard.

use serde_json::Value;
use std::collections::BTreeMap;

/// One metric row of a widget: what to read and with which statistic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRow {
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
}

/// The range the single datapoint covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// Seconds since the epoch of the datapoint's start (what `EPOCH` returns).
    pub start: i64,
    /// Its length in seconds (what `PERIOD` returns).
    pub period: i64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MathError {
    #[error("expression {expression:?}: {problem}")]
    Parse { expression: String, problem: String },
    #[error("widget row {0} is neither a metric nor an expression")]
    Row(usize),
}

/// One row of a widget, as the evaluator reads it.
enum Row {
    Metric { id: String, row: MetricRow },
    Expression { id: String, expression: String },
}

/// A widget's rows, and the (id, label) of each visible one in order.
type ParsedRows = (Vec<Row>, Vec<(String, String)>);

fn parse_rows(widget: &Value) -> Result<ParsedRows, MathError> {
    let properties = &widget["properties"];
    let default_stat = properties["stat"].as_str().unwrap_or("Average");
    let rows = properties["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut parsed = Vec::new();
    let mut shown = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let items = row.as_array().ok_or(MathError::Row(i))?;
        let options = items.iter().find(|v| v.is_object()).cloned();
        let options = options.unwrap_or_default();
        let id = options["id"]
            .as_str()
            .map_or_else(|| format!("m{i}"), str::to_string);
        let label = options["label"].as_str().unwrap_or(&id).to_string();
        if options["visible"] != Value::Bool(false) {
            shown.push((id.clone(), label));
        }
        if let Some(e) = options["expression"].as_str() {
            parsed.push(Row::Expression {
                id,
                expression: e.to_string(),
            });
            continue;
        }
        let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
        let [namespace, metric, dims @ ..] = strings.as_slice() else {
            return Err(MathError::Row(i));
        };
        let row = MetricRow {
            namespace: namespace.to_string(),
            metric: metric.to_string(),
            dimensions: dims
                .chunks(2)
                .filter_map(|c| match c {
                    [n, v] => Some((n.to_string(), v.to_string())),
                    _ => None,
                })
                .collect(),
            stat: options["stat"].as_str().unwrap_or(default_stat).to_string(),
        };
        parsed.push(Row::Metric { id, row });
    }
    Ok((parsed, shown))
}

/// The metrics a widget reads (what to ask CloudWatch for before evaluating it).
pub fn metric_rows(widget: &Value) -> Result<Vec<MetricRow>, MathError> {
    Ok(parse_rows(widget)?
        .0
        .into_iter()
        .filter_map(|r| match r {
            Row::Metric { row, .. } => Some(row),
            Row::Expression { .. } => None,
        })
        .collect())
}

/// The figures a single-value widget shows: (label, value) for each visible row, in order.
pub fn single_value(
    widget: &Value,
    range: Range,
    mut read: impl FnMut(&MetricRow) -> Option<f64>,
) -> Result<Vec<(String, Option<f64>)>, MathError> {
    let (rows, shown) = parse_rows(widget)?;
    let mut values: BTreeMap<String, Option<f64>> = BTreeMap::new();
    let mut expressions = Vec::new();
    for r in rows {
        match r {
            Row::Metric { id, row } => {
                values.insert(id, read(&row));
            }
            Row::Expression { id, expression } => expressions.push((id, expression)),
        }
    }
    // Expressions may refer to expressions defined later (as on a dashboard): evaluate those
    // whose ids are all known, pass after pass, until none is left or a pass resolves none.
    let mut pending = expressions;
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for (id, e) in pending {
            match evaluate(e.as_str(), &values, range) {
                Ok(v) => {
                    values.insert(id, v);
                }
                Err(MathError::Parse { ref problem, .. }) if problem.starts_with("unknown id") => {
                    waiting.push((id, e));
                }
                Err(other) => return Err(other),
            }
        }
        if waiting.len() == before {
            // Nothing resolved: the first one names the id that is defined nowhere.
            let (_, e) = &waiting[0];
            return evaluate(e, &values, range).map(|_| Vec::new());
        }
        pending = waiting;
    }
    Ok(shown
        .into_iter()
        .map(|(id, label)| (label, values.get(&id).copied().flatten()))
        .collect())
}

/// Evaluates one expression over single datapoints.
pub fn evaluate(
    expression: &str,
    values: &BTreeMap<String, Option<f64>>,
    range: Range,
) -> Result<Option<f64>, MathError> {
    let tokens = tokenize(expression).map_err(|problem| MathError::Parse {
        expression: expression.to_string(),
        problem,
    })?;
    let mut p = Parser {
        tokens,
        at: 0,
        values,
        range,
    };
    let v = p.comparison();
    let v = match v {
        Ok(v) if p.at == p.tokens.len() => Ok(v),
        Ok(_) => Err(format!("unexpected {:?}", p.tokens[p.at])),
        Err(e) => Err(e),
    };
    v.map_err(|problem| MathError::Parse {
        expression: expression.to_string(),
        problem,
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(&'static str),
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token::Number(
                text.parse().map_err(|_| format!("bad number {text}"))?,
            ));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = [">=", "<=", "=="]
                .into_iter()
                .find(|o| *o == two)
                .or_else(|| {
                    ["+", "-", "*", "/", "(", ")", ",", ">", "<"]
                        .into_iter()
                        .find(|o| o.starts_with(c))
                })
                .ok_or_else(|| format!("unexpected character {c:?}"))?;
            i += op.len();
            out.push(Token::Op(op));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    values: &'a BTreeMap<String, Option<f64>>,
    range: Range,
}

type Parsed = Result<Option<f64>, String>;

fn both(a: Option<f64>, b: Option<f64>, f: impl Fn(f64, f64) -> Option<f64>) -> Option<f64> {
    a.zip(b).and_then(|(a, b)| f(a, b))
}

impl Parser<'_> {
    fn eat(&mut self, op: &str) -> bool {
        let found = matches!(self.tokens.get(self.at), Some(Token::Op(o)) if *o == op);
        if found {
            self.at += 1;
        }
        found
    }

    fn comparison(&mut self) -> Parsed {
        let left = self.sum()?;
        for (op, test) in [
            (">=", f64::ge as fn(&f64, &f64) -> bool),
            ("<=", f64::le),
            ("==", f64::eq),
            (">", f64::gt),
            ("<", f64::lt),
        ] {
            if self.eat(op) {
                let right = self.sum()?;
                return Ok(both(left, right, |a, b| {
                    Some(if test(&a, &b) { 1.0 } else { 0.0 })
                }));
            }
        }
        Ok(left)
    }

    fn sum(&mut self) -> Parsed {
        let mut v = self.product()?;
        loop {
            if self.eat("+") {
                let r = self.product()?;
                v = both(v, r, |a, b| Some(a + b));
            } else if self.eat("-") {
                let r = self.product()?;
                v = both(v, r, |a, b| Some(a - b));
            } else {
                return Ok(v);
            }
        }
    }

    fn product(&mut self) -> Parsed {
        let mut v = self.unary()?;
        loop {
            if self.eat("*") {
                let r = self.unary()?;
                v = both(v, r, |a, b| Some(a * b));
            } else if self.eat("/") {
                let r = self.unary()?;
                // CloudWatch leaves a division by zero out of the result.
                v = both(v, r, |a, b| (b != 0.0).then(|| a / b));
            } else {
                return Ok(v);
            }
        }
    }

    fn unary(&mut self) -> Parsed {
        if self.eat("-") {
            return Ok(self.unary()?.map(|v| -v));
        }
        self.primary()
    }

    fn primary(&mut self) -> Parsed {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Number(n)) => Ok(Some(n)),
            Some(Token::Op("(")) => {
                let v = self.comparison()?;
                if !self.eat(")") {
                    return Err("missing )".into());
                }
                Ok(v)
            }
            Some(Token::Name(name)) if self.eat("(") => {
                let mut args = vec![self.comparison()?];
                while self.eat(",") {
                    args.push(self.comparison()?);
                }
                if !self.eat(")") {
                    return Err(format!("missing ) after {name}("));
                }
                self.call(&name, &args)
            }
            Some(Token::Name(name)) => self
                .values
                .get(&name)
                .copied()
                .ok_or_else(|| format!("unknown id {name}")),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn call(&self, name: &str, args: &[Option<f64>]) -> Parsed {
        match (name, args) {
            ("IF", [c, a]) => Ok(c.and_then(|c| if c != 0.0 { *a } else { None })),
            ("IF", [c, a, b]) => Ok(c.and_then(|c| if c != 0.0 { *a } else { *b })),
            ("FILL", [x, fill]) => Ok(x.or(*fill)),
            ("EPOCH", [x]) => Ok(x.map(|_| self.range.start as f64)),
            ("PERIOD", [x]) => Ok(x.map(|_| self.range.period as f64)),
            _ => Err(format!(
                "{name} with {} arguments is not one this evaluator knows",
                args.len()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(e: &str, vars: &[(&str, Option<f64>)]) -> Option<f64> {
        let values = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        evaluate(
            e,
            &values,
            Range {
                start: 1000,
                period: 86_400,
            },
        )
        .unwrap()
    }

    #[test]
    fn arithmetic_precedence_and_functions() {
        assert_eq!(
            eval("100 * a / b", &[("a", Some(3.0)), ("b", Some(4.0))]),
            Some(75.0)
        );
        assert_eq!(eval("1 + 2 * 3 - -1", &[]), Some(8.0));
        assert_eq!(eval("(1 + 2) * 3", &[]), Some(9.0));
        assert_eq!(eval("IF(a >= 2, 10, 20)", &[("a", Some(1.0))]), Some(20.0));
        assert_eq!(eval("IF(a > 2, 10)", &[("a", Some(1.0))]), None);
        assert_eq!(eval("FILL(a, 0) + 1", &[("a", None)]), Some(1.0));
        assert_eq!(
            eval("EPOCH(a) + PERIOD(a)", &[("a", Some(5.0))]),
            Some(87_400.0)
        );
    }

    /// An expression may use one defined after it; one that names an id defined nowhere is an
    /// error naming it.
    #[test]
    fn expressions_resolve_in_any_order_and_unknown_ids_are_named() {
        let widget = serde_json::json!({"properties": {"stat": "Sum", "metrics": [
            [{"expression": "b * 2", "label": "a", "id": "a"}],
            [{"expression": "m + 1", "label": "b", "id": "b"}],
            ["NS", "M", {"id": "m", "visible": false}],
        ]}});
        let range = Range {
            start: 0,
            period: 60,
        };
        let figures = single_value(&widget, range, |_| Some(4.0)).unwrap();
        assert_eq!(
            figures,
            [("a".to_string(), Some(10.0)), ("b".to_string(), Some(5.0))]
        );
        let broken = serde_json::json!({"properties": {"metrics": [
            [{"expression": "nowhere + 1", "label": "x", "id": "x"}],
        ]}});
        let e = single_value(&broken, range, |_| None).unwrap_err();
        assert!(e.to_string().contains("unknown id nowhere"), "{e}");
    }

    #[test]
    fn a_missing_value_or_a_zero_divisor_is_blank() {
        assert_eq!(eval("a + 1", &[("a", None)]), None);
        assert_eq!(eval("1 / a", &[("a", Some(0.0))]), None);
    }

    #[test]
    fn bad_expressions_are_named() {
        let values = BTreeMap::new();
        let range = Range {
            start: 0,
            period: 60,
        };
        for bad in ["1 +", "nope", "MEDIAN(1)", "(1", "1 $ 2"] {
            let e = evaluate(bad, &values, range).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
