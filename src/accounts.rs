//! Accounts as a service used by the web back office and the command line:
//! password hashing (Argon2id, off the async threads), creation, resets.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Utc;
use rand::RngCore;

use crate::domain::codes::Email;
use crate::domain::roles::InstanceRole;
use crate::domain::Invalid;
use crate::storage::audit::Actor;
use crate::storage::users::{self, User};
use crate::storage::{Db, DbError};

pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Transparent: the message is printed once, not again as its source.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("un compte existe déjà pour {0}")]
    Exists(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

pub fn check_password(p: &str) -> Result<(), Invalid> {
    let n = p.chars().count();
    if n < PASSWORD_MIN {
        return Err(Invalid::new(format!(
            "le mot de passe doit compter au moins {PASSWORD_MIN} caractères (une phrase facile à retenir convient)"
        )));
    }
    if n > PASSWORD_MAX {
        return Err(Invalid::new(format!(
            "le mot de passe ne doit pas dépasser {PASSWORD_MAX} caractères"
        )));
    }
    Ok(())
}

/// Hash a password with Argon2id in a blocking task.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Check a password against a stored hash, in a blocking task.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A hash that no password matches, to compare against when the account does
/// not exist (so that timing does not tell which e-mails have accounts).
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Bv4kzDxd0mSAg9fPZgE2DA4UtPtBqV3LdcWzV0sPqc";

pub use crate::tokens::{random_token, token_hash};

/// A password people can type from a printout: 4 groups of 5 letters/digits.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let mut out = String::new();
    for group in 0..4 {
        if group > 0 {
            out.push('-');
        }
        for _ in 0..5 {
            out.push(ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char);
        }
    }
    out
}

/// Create an account. The display name defaults to the e-mail's local part.
pub async fn create_user(
    db: &Db,
    actor: &Actor,
    email: &str,
    display_name: &str,
    password: &str,
    role: InstanceRole,
) -> Result<User, AccountError> {
    let email = Email::parse(email)?;
    check_password(password)?;
    let name = crate::domain::text::bounded(display_name, "Nom", false, 120)?;
    let name = if name.is_empty() {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned()
    } else {
        name
    };
    let hash = hash_password(password.to_owned())
        .await
        .map_err(DbError::Other)?;
    match users::create(db, actor, email.as_str(), &name, &hash, role).await {
        Err(DbError::Conflict(_)) => Err(AccountError::Exists(email.as_str().to_owned())),
        other => Ok(other?),
    }
}

/// Issue a one-time reset token valid for `days`; returns the clear token.
pub async fn issue_reset(db: &Db, user_id: i64, days: i64) -> Result<String, DbError> {
    let token = random_token();
    users::create_reset(
        db,
        user_id,
        &token_hash(&token),
        Utc::now() + chrono::Duration::days(days),
    )
    .await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify() {
        let h = hash_password("une phrase de passe".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("une phrase de passe".into(), h.clone()).await);
        assert!(!verify_password("une autre phrase".into(), h).await);
        assert!(!verify_password("x".into(), DUMMY_HASH.into()).await);
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let p = random_password();
        assert_eq!(p.len(), 23);
        assert!(check_password(&p).is_ok());
        assert!(check_password("court").is_err());
    }
}
