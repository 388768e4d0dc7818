//! Passwords, access tokens and refresh tokens.
//!
//! Passwords are hashed with argon2 (PHC strings). Access tokens are short-lived HS256 JWTs
//! whose issuer, audience, expiry and algorithm are all checked. Refresh tokens are random,
//! stored only as SHA-256 hashes, and rotate: each is good once; presenting a used one again is
//! taken as theft and revokes the whole device session. The one exception is the same refresh
//! request arriving again (its answer was lost on the way, or the network repeated it): the
//! client names the successor it proposed, which only it knows, and gets the same answer while
//! that successor is unused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::storage::Storage;

/// Issuer of access tokens.
pub const ISSUER: &str = "fieldsync";
/// Audience of access tokens.
pub const AUDIENCE: &str = "fieldsync-sync";

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// Hashes a password for storage.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt_bytes: [u8; 16] = random_bytes()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
}

/// Checks a password for a user who may not exist. For an unknown user a dummy hash is checked
/// all the same, so the answer takes as long and does not tell which names exist.
pub fn verify_login(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match stored {
        Some(hash) => verify_password(password, hash),
        None => {
            let dummy =
                DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default());
            verify_password(password, dummy);
            false
        }
    }
}

/// Checks a password against its stored hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User name.
    pub sub: String,
    /// Role at issue time (informational: the server reloads the user on every request).
    pub role: String,
    /// Device session id.
    pub sid: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
}

/// Signs and checks access tokens with the server's key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The key of the console's CSRF tokens, derived from the signing secret.
    csrf_key: [u8; 32],
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> TokenKeys {
        use sha2::Digest;
        let csrf_key: [u8; 32] = sha2::Sha256::new()
            .chain_update(b"fieldsync console csrf\0")
            .chain_update(secret)
            .finalize()
            .into();
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            csrf_key,
            access_ttl,
            refresh_ttl,
        }
    }

    /// A new access token for a user's device session.
    pub fn issue(&self, username: &str, role: &str, session: &str) -> Result<String, AppError> {
        self.issue_for(username, role, session, self.access_ttl)
    }

    /// The CSRF token of a console session: an HMAC of its session id, which the console's
    /// pages send back in `X-CSRF-Token` with every write. A page of another site can neither
    /// read it nor make it.
    pub fn csrf_token(&self, session: &str) -> String {
        use hmac::Mac;
        #[allow(clippy::expect_used, reason = "HMAC takes keys of any length")]
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.csrf_key)
            .expect("HMAC takes keys of any length");
        mac.update(session.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A new access token for a session that lasts `ttl` (the console's session cookie).
    pub fn issue_for(
        &self,
        username: &str,
        role: &str,
        session: &str,
        ttl: Duration,
    ) -> Result<String, AppError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: username.to_string(),
            role: role.to_string(),
            sid: session.to_string(),
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            iat: now,
            exp: now + ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing failed: {e}")))
    }

    /// Checks an access token: signature, algorithm (HS256 only), issuer, audience, expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => AppError::TokenExpired,
                ErrorKind::InvalidAudience => AppError::Unauthenticated("the token is for another service: log in again".into()),
                ErrorKind::InvalidIssuer => AppError::Unauthenticated("the token was issued by someone else: log in again".into()),
                ErrorKind::InvalidAlgorithm => AppError::Unauthenticated("the token is signed with an algorithm this server does not accept: log in again".into()),
                ErrorKind::InvalidSignature => AppError::Unauthenticated("the token's signature is not this server's: log in again".into()),
                _ => AppError::Unauthenticated("the token is malformed: log in again".into()),
            }
        })
    }
}

/// A new refresh token and the hash to store for it.
pub fn new_refresh_token() -> Result<(String, String), AppError> {
    let bytes: [u8; 32] = random_bytes()?;
    let token = hex::encode(bytes);
    let hash = hash_refresh(&token);
    Ok((token, hash))
}

/// The stored form of a refresh token.
pub fn hash_refresh(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Failed logins a (user, address) pair may have before each further attempt waits.
pub const FREE_FAILURES: u32 = 3;

/// Failed logins one address may have, over all user names, before it waits.
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;

/// The longest wait between attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// How long a record of failures is kept after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Failures in a row and when the last one began (unix milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Failures in a row.
    pub count: u32,
    /// When the last one began, unix milliseconds.
    pub last_ms: i64,
}

impl Failures {
    /// How long after the last failure the next attempt must wait: nothing for the first
    /// `free`, then 1 s, doubling with each failure, up to [`MAX_WAIT`].
    fn wait(&self, free: u32, now_ms: i64) -> Option<Duration> {
        let over = self.count.checked_sub(free)?;
        let delay = Duration::from_secs(1u64 << over.min(20)).min(MAX_WAIT);
        let ready = self.last_ms.saturating_add(delay.as_millis() as i64);
        (ready > now_ms).then(|| Duration::from_millis((ready - now_ms) as u64))
    }
}

/// Where failed logins are counted: in the process, or in the database every server node
/// shares ([`crate::storage::NodeLink::update_login_failures`]).
enum FailureBook {
    Memory(Mutex<HashMap<String, Failures>>),
    Shared(Arc<dyn Storage>),
}

impl FailureBook {
    /// Runs `step` over the records of `keys` (`None`: no record) in one atomic step, and
    /// keeps what it leaves.
    fn update(
        &self,
        keys: &[String],
        step: &mut dyn FnMut(&mut [Option<Failures>]),
    ) -> Result<(), AppError> {
        match self {
            FailureBook::Memory(book) => {
                let mut book = book.lock().unwrap_or_else(|e| e.into_inner());
                // Names tried once and never again would pile up: forget old records now
                // and then.
                if book.len() > 10_000 {
                    let now = now_ms();
                    book.retain(|_, f| now - f.last_ms < FORGET_AFTER.as_millis() as i64);
                }
                let mut records: Vec<Option<Failures>> =
                    keys.iter().map(|k| book.get(k).copied()).collect();
                step(&mut records);
                for (key, record) in keys.iter().zip(records) {
                    match record {
                        Some(f) => book.insert(key.clone(), f),
                        None => book.remove(key),
                    };
                }
                Ok(())
            }
            FailureBook::Shared(storage) => {
                let link = storage.nodes().ok_or_else(|| {
                    AppError::Internal("shared login records without shared storage".into())
                })?;
                let forget_before = now_ms() - FORGET_AFTER.as_millis() as i64;
                Ok(link.update_login_failures(keys, forget_before, step)?)
            }
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Slows down password guessing without locking anyone out.
///
/// Failures are counted per user name *and* source address: after [`FREE_FAILURES`] in a
/// row, each further attempt from that address for that name waits 1 s, then 2 s, 4 s, …
/// up to 15 minutes; a login clears the count. Someone guessing the admin's password from
/// one address slows only themselves: the admin, from an address that has not failed, always
/// gets in with the right password. One address guessing many names waits too, after
/// [`FREE_FAILURES_PER_ADDRESS`] failures over all names. An attempt counts as failed from the
/// moment it starts until [`LoginLimiter::succeeded`], so concurrent guesses cannot slip past.
/// Several server nodes on one database count together ([`LoginLimiter::shared`]): a guesser
/// gains nothing by spreading guesses over them.
///
/// It also bounds how many passwords are checked at once: each Argon2 check takes 19 MiB and
/// a core for a moment, so a burst of logins (a whole sales force on Monday morning, or a
/// flood of guesses) waits for a turn ([`LoginLimiter::check_turn`]) instead of growing the
/// server's memory by 19 MiB a login.
pub struct LoginLimiter {
    book: FailureBook,
    checks: Arc<tokio::sync::Semaphore>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new()
    }
}

/// The record keys of `username` from `address`, and of `address` alone: hashes, so a name
/// of any length or bytes makes a key of 64 hex digits.
fn keys(username: &str, address: Option<IpAddr>) -> [String; 2] {
    let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
    let hashed = |key: String| hex::encode(Sha256::digest(key.as_bytes()));
    [
        hashed(format!("name\0{address}\0{username}")),
        hashed(format!("address\0{address}")),
    ]
}

impl LoginLimiter {
    /// A limiter counting in this process.
    pub fn new() -> LoginLimiter {
        LoginLimiter::with_book(FailureBook::Memory(Mutex::default()))
    }

    /// A limiter counting in `storage`, with every other server node on it, when it is
    /// shared; in this process otherwise.
    pub fn shared(storage: Arc<dyn Storage>) -> LoginLimiter {
        if storage.nodes().is_none() {
            return LoginLimiter::new();
        }
        LoginLimiter::with_book(FailureBook::Shared(storage))
    }

    fn with_book(book: FailureBook) -> LoginLimiter {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        LoginLimiter {
            book,
            checks: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }

    /// Waits for a turn to check a password: one at a time per core.
    pub async fn check_turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        self.checks
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("the password check queue is closed".into()))
    }

    /// Starts an attempt for `username` from `address` (unknown when the connection's address
    /// is): refused while that pair, or that address, must wait; otherwise counted as a
    /// failure until it succeeds. A refused attempt counts nothing. Blocking: it may ask the
    /// database.
    pub fn attempt(&self, username: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        let now = now_ms();
        let mut wait = None;
        self.book.update(&keys(username, address), &mut |records| {
            wait = records
                .iter()
                .zip([FREE_FAILURES, FREE_FAILURES_PER_ADDRESS])
                .filter_map(|(f, free)| f.and_then(|f| f.wait(free, now)))
                .max();
            if wait.is_none() {
                for f in records.iter_mut() {
                    let count = f.map_or(0, |f| f.count).saturating_add(1);
                    *f = Some(Failures {
                        count,
                        last_ms: now,
                    });
                }
            }
        })?;
        match wait {
            Some(wait) => Err(AppError::RateLimited(
                (wait.as_secs_f64().ceil() as u64).max(1),
            )),
            None => Ok(()),
        }
    }

    /// Forgets the failures of `username` from `address`, who logged in, and takes this
    /// attempt back from the address's count. Blocking: it may ask the database.
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        self.book.update(&keys(username, address), &mut |records| {
            records[0] = None;
            if let Some(f) = records[1].as_mut() {
                f.count = f.count.saturating_sub(1);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret-密码").unwrap();
        assert!(verify_password("s3cret-密码", &h));
        assert!(!verify_password("s3cret", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_check_key_audience_and_expiry() {
        let keys = TokenKeys::new(&[7u8; 32], Duration::from_secs(60), Duration::from_secs(60));
        let t = keys.issue("li", "rep", "s1").unwrap();
        assert_eq!(keys.verify(&t).unwrap().sub, "li");
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60), Duration::from_secs(60));
        assert!(matches!(
            other.verify(&t),
            Err(AppError::Unauthenticated(_))
        ));
        let expired = TokenKeys::new(&[7u8; 32], Duration::from_secs(0), Duration::from_secs(0));
        let old = {
            let now = chrono::Utc::now().timestamp();
            let claims = Claims {
                sub: "li".into(),
                role: "rep".into(),
                sid: "s".into(),
                iss: ISSUER.into(),
                aud: AUDIENCE.into(),
                iat: now - 100,
                exp: now - 60,
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&[7u8; 32]),
            )
            .unwrap()
        };
        assert!(matches!(expired.verify(&old), Err(AppError::TokenExpired)));
    }

    #[test]
    fn failures_slow_down_their_own_name_and_address_only() {
        let l = LoginLimiter::new();
        let guesser = Some(IpAddr::from([10, 0, 0, 66]));
        let office = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..FREE_FAILURES {
            l.attempt("admin", guesser).unwrap();
        }
        // The next guess from that address waits, for about a second.
        match l.attempt("admin", guesser) {
            Err(AppError::RateLimited(secs)) => assert_eq!(secs, 1),
            other => panic!("{other:?}"),
        }
        // The admin from another address is not held, and logs in.
        l.attempt("admin", office).unwrap();
        l.succeeded("admin", office).unwrap();
        // Another name from the guessing address is not held either (yet).
        l.attempt("li", guesser).unwrap();
    }

    #[test]
    fn the_wait_doubles_with_each_failure_up_to_a_limit() {
        let now = 1_700_000_000_000;
        let waits: Vec<u64> = (3..=30)
            .map(|count| {
                Failures {
                    count,
                    last_ms: now,
                }
                .wait(FREE_FAILURES, now)
                .map_or(0, |d| d.as_secs())
            })
            .collect();
        assert_eq!(&waits[..6], &[1, 2, 4, 8, 16, 32]);
        assert_eq!(*waits.last().unwrap(), MAX_WAIT.as_secs());
        assert!(
            Failures {
                count: 2,
                last_ms: now
            }
            .wait(FREE_FAILURES, now)
            .is_none()
        );
    }

    #[test]
    fn one_address_guessing_many_names_waits_too() {
        let l = LoginLimiter::new();
        let sprayer = Some(IpAddr::from([10, 9, 9, 9]));
        for n in 0..FREE_FAILURES_PER_ADDRESS {
            l.attempt(&format!("user{n}"), sprayer).unwrap();
        }
        assert!(matches!(
            l.attempt("someone-else", sprayer),
            Err(AppError::RateLimited(_))
        ));
        assert!(
            l.attempt("someone-else", Some(IpAddr::from([10, 1, 1, 1])))
                .is_ok()
        );
    }
}
