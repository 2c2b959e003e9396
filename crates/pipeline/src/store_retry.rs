//! Store operations tried again after a lost connection to the database server (it
//! restarted, the network failed): a daemon rides out such a gap instead of exiting. Every
//! write is idempotent, so trying one again stores nothing twice.

use std::time::Duration;

use nichiro_store::StoreError;

/// Waits between tries: 1, 2, 4, … 32 s, about two minutes in all.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const TRIES: u32 = 7;

/// Runs `op`, trying it again while it fails with a passing error
/// ([`StoreError::is_transient`]); any other error, or the last one, is returned.
pub fn retrying<T>(what: &str, op: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    retrying_with(what, FIRST_WAIT, TRIES, op)
}

fn retrying_with<T>(
    what: &str,
    first_wait: Duration,
    tries: u32,
    mut op: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut wait = first_wait;
    let mut tried = 1;
    loop {
        match op() {
            Err(error) if error.is_transient() && tried < tries => {
                tracing::warn!(what, %error, retry_in_secs = wait.as_secs_f64(), "store out of reach; trying again");
                std::thread::sleep(wait);
                wait *= 2;
                tried += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> StoreError {
        StoreError::Disconnected("connection closed".into())
    }

    #[test]
    fn a_lost_connection_is_tried_again_and_other_errors_are_not() {
        let mut calls = 0;
        let result = retrying_with("test", Duration::ZERO, 5, || {
            calls += 1;
            if calls < 3 { Err(lost()) } else { Ok(calls) }
        });
        assert_eq!(result.unwrap(), 3);

        let mut calls = 0;
        let result: Result<(), _> = retrying_with("test", Duration::ZERO, 5, || {
            calls += 1;
            Err(StoreError::Query("syntax error".into()))
        });
        assert!(matches!(result, Err(StoreError::Query(_))));
        assert_eq!(calls, 1, "a query error is not passing");

        let mut calls = 0;
        let result: Result<(), _> = retrying_with("test", Duration::ZERO, 4, || {
            calls += 1;
            Err(lost())
        });
        assert!(matches!(result, Err(StoreError::Disconnected(_))));
        assert_eq!(calls, 4, "gives up after the last try");
    }
}
