//! What an attempt cost: the agent's own figure where it reports one, otherwise its tokens times a
//! price per model. vane ships a table of list prices; `[prices."MODEL"]` in vane.toml adds models
//! or overrides them. A model is found by its longest listed prefix, so `claude-sonnet-4-5-20250929`
//! is priced as `claude-sonnet-4-5`.
//!
//! Prices are in USD per million tokens, as the providers publish them. Cached input is the part of
//! the input read from the provider's prompt cache. Pure: no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The price of a model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    /// Input read from the prompt cache; the input price when left out.
    #[serde(default)]
    pub cached_input: Option<f64>,
    pub output: f64,
}

/// Where a cost came from, as the ledger keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostSource {
    /// The agent reported it (Claude Code's `total_cost_usd`).
    Agent,
    /// Tokens times the price table.
    Prices,
}

impl CostSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Agent => "agent",
            CostSource::Prices => "prices",
        }
    }

    pub fn parse(text: &str) -> Option<CostSource> {
        match text {
            "agent" => Some(CostSource::Agent),
            "prices" => Some(CostSource::Prices),
            _ => None,
        }
    }
}

/// The tokens of one run. `input` counts every input token, the cached ones among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: Option<u64>,
    pub cached_input: Option<u64>,
    pub output: Option<u64>,
}

/// A cost and where it came from; both None when nothing is known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    pub usd: Option<f64>,
    pub source: Option<CostSource>,
}

/// List prices when this vane was released (USD per million tokens: input, cached input, output).
/// A provider's later change is one `[prices."MODEL"]` table in vane.toml away.
const LIST_PRICES: &[(&str, f64, f64, f64)] = &[
    ("claude-opus-4-5", 5.0, 0.5, 25.0),
    ("claude-opus-4-1", 15.0, 1.5, 75.0),
    ("claude-opus-4", 15.0, 1.5, 75.0),
    ("claude-sonnet-4-5", 3.0, 0.3, 15.0),
    ("claude-sonnet-4", 3.0, 0.3, 15.0),
    ("claude-3-7-sonnet", 3.0, 0.3, 15.0),
    ("claude-haiku-4-5", 1.0, 0.1, 5.0),
    ("claude-3-5-haiku", 0.8, 0.08, 4.0),
    ("gpt-5-codex", 1.25, 0.125, 10.0),
    ("gpt-5-mini", 0.25, 0.025, 2.0),
    ("gpt-5-nano", 0.05, 0.005, 0.4),
    ("gpt-5", 1.25, 0.125, 10.0),
    ("gpt-4.1-mini", 0.4, 0.1, 1.6),
    ("gpt-4.1", 2.0, 0.5, 8.0),
    ("o4-mini", 1.1, 0.275, 4.4),
    ("o3", 2.0, 0.5, 8.0),
    ("gemini-2.5-pro", 1.25, 0.31, 10.0),
    ("gemini-2.5-flash-lite", 0.1, 0.025, 0.4),
    ("gemini-2.5-flash", 0.3, 0.075, 2.5),
];

/// The price table: vane's list prices with vane.toml's `[prices]` over them.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    by_prefix: BTreeMap<String, Price>,
}

impl Default for Prices {
    fn default() -> Self {
        Prices::with(&BTreeMap::new())
    }
}

impl Prices {
    /// The list prices, with `overrides` (vane.toml's `[prices]`) added or put over them.
    pub fn with(overrides: &BTreeMap<String, Price>) -> Prices {
        let mut by_prefix: BTreeMap<String, Price> = LIST_PRICES
            .iter()
            .map(|(model, input, cached, output)| {
                (
                    (*model).to_string(),
                    Price {
                        input: *input,
                        cached_input: Some(*cached),
                        output: *output,
                    },
                )
            })
            .collect();
        by_prefix.extend(overrides.iter().map(|(m, p)| (m.clone(), *p)));
        Prices { by_prefix }
    }

    /// Every priced model prefix with its price, in order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.by_prefix.iter().map(|(m, p)| (m.as_str(), p))
    }

    /// The price of `model`: the entry that is the longest prefix of its name (case aside; an
    /// `anthropic/` or `openai/` provider prefix and a `[1m]`-style suffix are ignored).
    pub fn find(&self, model: &str) -> Option<(&str, Price)> {
        let name = model.to_lowercase();
        let name = name.rsplit('/').next().unwrap_or(&name);
        let name = name.split('[').next().unwrap_or(name);
        self.by_prefix
            .iter()
            .filter(|(prefix, _)| name.starts_with(&prefix.to_lowercase()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(prefix, price)| (prefix.as_str(), *price))
    }

    /// What a run cost: `reported` when the agent said (and it is a finite, non-negative figure),
    /// else its tokens times the price of `model` when both are known, else nothing.
    pub fn cost(&self, reported: Option<f64>, tokens: Tokens, model: Option<&str>) -> Cost {
        if let Some(usd) = reported.filter(|c| c.is_finite() && *c >= 0.0) {
            return Cost {
                usd: Some(usd),
                source: Some(CostSource::Agent),
            };
        }
        let (Some(model), Some(output)) = (model, tokens.output) else {
            return Cost::default();
        };
        let Some((_, price)) = self.find(model) else {
            return Cost::default();
        };
        let input = tokens.input.unwrap_or(0);
        let cached = tokens.cached_input.unwrap_or(0).min(input);
        let per_token = |per_million: f64| per_million / 1_000_000.0;
        let usd = (input - cached) as f64 * per_token(price.input)
            + cached as f64 * per_token(price.cached_input.unwrap_or(price.input))
            + output as f64 * per_token(price.output);
        Cost {
            usd: Some(usd),
            source: Some(CostSource::Prices),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, cached: u64, output: u64) -> Tokens {
        Tokens {
            input: Some(input),
            cached_input: Some(cached),
            output: Some(output),
        }
    }

    #[test]
    fn the_longest_prefix_prices_a_model() {
        let prices = Prices::default();
        assert_eq!(prices.find("gpt-5-codex").map(|f| f.0), Some("gpt-5-codex"));
        assert_eq!(prices.find("gpt-5-2025-08-07").map(|f| f.0), Some("gpt-5"));
        assert_eq!(
            prices.find("claude-sonnet-4-5-20250929").map(|f| f.0),
            Some("claude-sonnet-4-5")
        );
        assert_eq!(
            prices.find("anthropic/Claude-Opus-4-5[1m]").map(|f| f.0),
            Some("claude-opus-4-5")
        );
        assert_eq!(
            prices.find("gemini-2.5-flash-lite").map(|f| f.0),
            Some("gemini-2.5-flash-lite")
        );
        assert_eq!(prices.find("llama-3"), None);
    }

    #[test]
    fn the_agents_own_figure_wins() {
        let cost = Prices::default().cost(Some(0.42), tokens(10, 0, 10), Some("gpt-5"));
        assert_eq!(cost.usd, Some(0.42));
        assert_eq!(cost.source, Some(CostSource::Agent));
        // A figure that cannot be a cost is not one.
        let cost = Prices::default().cost(Some(f64::NAN), tokens(0, 0, 0), None);
        assert_eq!(cost, Cost::default());
    }

    #[test]
    fn tokens_times_prices_with_cached_input_cheaper() {
        // gpt-5: 1.25 in, 0.125 cached, 10 out per million.
        let cost = Prices::default().cost(None, tokens(1_000_000, 400_000, 100_000), Some("gpt-5"));
        let expected = 0.6 * 1.25 + 0.4 * 0.125 + 0.1 * 10.0;
        assert!((cost.usd.expect("priced") - expected).abs() < 1e-9);
        assert_eq!(cost.source, Some(CostSource::Prices));
    }

    #[test]
    fn vane_toml_overrides_and_adds() {
        let overrides = BTreeMap::from([
            (
                "gpt-5".to_string(),
                Price {
                    input: 2.0,
                    cached_input: None,
                    output: 20.0,
                },
            ),
            (
                "Local-Model".to_string(),
                Price {
                    input: 0.0,
                    cached_input: None,
                    output: 1.0,
                },
            ),
        ]);
        let prices = Prices::with(&overrides);
        // Without a cached price, cached input costs what input does.
        let cost = prices.cost(None, tokens(1_000_000, 500_000, 0), Some("gpt-5"));
        assert!((cost.usd.expect("priced") - 2.0).abs() < 1e-9);
        let cost = prices.cost(None, tokens(5, 0, 2_000_000), Some("local-model-7b"));
        assert!((cost.usd.expect("priced") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_model_or_no_tokens_is_no_cost() {
        let prices = Prices::default();
        assert_eq!(prices.cost(None, tokens(1, 0, 1), None), Cost::default());
        assert_eq!(
            prices.cost(None, tokens(1, 0, 1), Some("mystery")),
            Cost::default()
        );
        assert_eq!(
            prices.cost(None, Tokens::default(), Some("gpt-5")),
            Cost::default()
        );
    }
}
