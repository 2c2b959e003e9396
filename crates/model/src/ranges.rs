//! Ranges for numbers read from a config file or a command line: a value outside its range
//! is refused at load with a message naming the key, instead of overflowing a duration, a
//! channel or an allocation later.

use std::fmt::Display;

/// Checks that `value` lies in `min..=max`; the error names `key` and the range. NaN is
/// outside every range.
///
/// ```
/// use nichiro_model::check_range;
/// assert!(check_range("fetch.max_retries", 3u32, 0, 20).is_ok());
/// let err = check_range("tag.relevance_threshold", f32::NAN, 0.0, 1.0).unwrap_err();
/// assert_eq!(err, "tag.relevance_threshold is NaN; it must be from 0 to 1");
/// ```
pub fn check_range<T: PartialOrd + Display + Copy>(
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), String> {
    if min <= value && value <= max {
        Ok(())
    } else {
        Err(format!("{key} is {value}; it must be from {min} to {max}"))
    }
}

/// Like [`check_range`] for an optional value: `None` passes.
pub fn check_optional_range<T: PartialOrd + Display + Copy>(
    key: &str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), String> {
    value.map_or(Ok(()), |v| check_range(key, v, min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_nan_is_refused() {
        assert!(check_range("k", 0u64, 0, 10).is_ok());
        assert!(check_range("k", 10u64, 0, 10).is_ok());
        assert_eq!(
            check_range("pipeline.channel_capacity", u64::MAX, 1, 1_000_000).unwrap_err(),
            "pipeline.channel_capacity is 18446744073709551615; it must be from 1 to 1000000"
        );
        assert!(check_range("k", f64::NAN, 0.0, 1.0).is_err());
        assert!(check_range("k", 1.5f32, 0.0, 1.0).is_err());
        assert!(check_optional_range::<u64>("k", None, 1, 2).is_ok());
        assert!(check_optional_range("k", Some(3u64), 1, 2).is_err());
    }
}
