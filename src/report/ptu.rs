//! Provisioned throughput (PTU): sharing a deployment's fixed monthly cost among the clients
//! that used it, by weighted tokens. Pure: exact decimals, no I/O.
//!
//! Hides the rounding rule: each share is computed exactly, cut to whole cents, and the cents
//! left over go one each to the largest remainders (ties to the earlier unit, in the caller's
//! stable order), so that the shares sum to the configured cost TO THE CENT. A deployment no
//! one used that month is not allocated: the caller reports it as unallocated.

use rust_decimal::Decimal;

use crate::aggregate::Totals;
use crate::config::ProvisionedConfig;

/// A client's weighted tokens: uncached input, cached input and output tokens, each times its
/// configured weight.
pub fn weighted_tokens(t: &Totals, w: &ProvisionedConfig) -> Decimal {
    let cached = t.cached_tokens.min(t.prompt_tokens);
    Decimal::from(t.prompt_tokens - cached) * w.input_weight
        + Decimal::from(cached) * w.cached_input_weight
        + Decimal::from(t.completion_tokens) * w.output_weight
}

/// Split `cost` (at most 2 decimal places, not negative) in proportion to `weights`, in whole
/// cents, summing to `cost` exactly. `None` when the weights sum to zero (nothing to share by).
pub fn allocate(cost: Decimal, weights: &[Decimal]) -> Option<Vec<Decimal>> {
    let total: Decimal = weights.iter().sum();
    if total <= Decimal::ZERO {
        return None;
    }
    let hundred = Decimal::ONE_HUNDRED;
    let cents = (cost * hundred).trunc();
    // Exact integer division: floor(cents * w / total), remainder kept to rank the leftovers.
    let mut shares: Vec<(Decimal, Decimal)> = weights
        .iter()
        .map(|w| {
            let numerator = cents * w;
            let remainder = numerator % total;
            ((numerator - remainder) / total, remainder)
        })
        .collect();
    let given: Decimal = shares.iter().map(|(floor, _)| *floor).sum();
    let mut leftover = (cents - given).trunc();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest remainder first; ties keep the caller's order (stable sort).
    order.sort_by(|&a, &b| shares[b].1.cmp(&shares[a].1));
    for i in order {
        if leftover <= Decimal::ZERO {
            break;
        }
        shares[i].0 += Decimal::ONE;
        leftover -= Decimal::ONE;
    }
    Some(shares.into_iter().map(|(c, _)| (c / hundred).round_dp(2)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn many_clients_sum_to_the_cent() {
        let weights: Vec<Decimal> = (1..=997u64).map(|i| Decimal::from(i * 7919 % 1013 + 1)).collect();
        let shares = allocate(d("12000.00"), &weights).unwrap();
        assert_eq!(shares.iter().sum::<Decimal>(), d("12000.00"));
        assert!(shares.iter().all(|s| s.scale() <= 2 && !s.is_sign_negative()));
        // Each share is within a cent of its exact value.
        let total: Decimal = weights.iter().sum();
        for (s, w) in shares.iter().zip(&weights) {
            let exact = d("12000") * w / total;
            assert!((*s - exact).abs() < d("0.01"), "{s} vs {exact}");
        }
    }

    #[test]
    fn thirds_and_ties() {
        let shares = allocate(d("100.00"), &[d("1"), d("1"), d("1")]).unwrap();
        assert_eq!(shares, vec![d("33.34"), d("33.33"), d("33.33")], "ties: earlier unit first");
        let shares = allocate(d("0.05"), &[d("1"), d("1"), d("1"), d("1"), d("1"), d("1")]).unwrap();
        assert_eq!(shares.iter().sum::<Decimal>(), d("0.05"));
        assert_eq!(shares[5], d("0"));
    }

    #[test]
    fn largest_remainder_wins_the_cent() {
        // 10.00 by 1:2 → 3.333… and 6.666…: the second has the larger remainder.
        assert_eq!(allocate(d("10.00"), &[d("1"), d("2")]).unwrap(), vec![d("3.33"), d("6.67")]);
    }

    #[test]
    fn zero_usage_is_not_allocated() {
        assert_eq!(allocate(d("12000.00"), &[]), None);
        assert_eq!(allocate(d("12000.00"), &[d("0"), d("0")]), None);
        // A zero-weight client gets nothing when others used the deployment.
        assert_eq!(allocate(d("1.00"), &[d("0"), d("3")]).unwrap(), vec![d("0"), d("1.00")]);
    }

    #[test]
    fn weights_discount_cached_and_count_output_more() {
        let w = ProvisionedConfig::default();
        let t =
            Totals { prompt_tokens: 1000, cached_tokens: 400, completion_tokens: 100, ..Totals::default() };
        assert_eq!(weighted_tokens(&t, &w), d("1000")); // 600 × 1 + 400 × 0 + 100 × 4
    }
}
