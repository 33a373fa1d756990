//! Seals on gate verdicts, so that the verdict cache trusts only what vane itself recorded
//! (promise 8: an agent cannot forge a verdict). A seal is HMAC-SHA-256 over the fields that make
//! a verdict (the tree, the gate's configuration key, the score, whether it passed), keyed by 32
//! random bytes in `verdict.key` beside the database, created on first use with mode 0600. A row an
//! agent inserts into the database has no valid seal, and the cache passes over it.
//!
//! The key is readable by whatever runs as the person, agents included (reads are not confined):
//! this stops a confused agent that writes a row, not one that sets out to read the key and compute
//! a seal. Kernel confinement keeps agents from writing the database at all.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The file beside the database holding the key.
pub const KEY_FILE: &str = "verdict.key";

const KEY_LEN: usize = 32;
const BLOCK: usize = 64;

/// The key for the database at `db_path`, made on first use.
pub fn key_for(db_path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let path = db_path.with_file_name(KEY_FILE);
    let mut key = [0u8; KEY_LEN];
    match std::fs::File::open(&path) {
        Ok(mut file) => {
            file.read_exact(&mut key)?;
            return Ok(key);
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    // Written under a temporary name and linked into place, so that two processes making it at
    // once agree on one key: the loser reads the winner's.
    let tmp = path.with_extension(format!("key.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&key)?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut theirs = [0u8; KEY_LEN];
            std::fs::File::open(&path)?.read_exact(&mut theirs)?;
            Ok(theirs)
        }
        Err(e) => Err(e),
    }
}

/// The seal of one verdict, in hexadecimal.
pub fn seal(key: &[u8; KEY_LEN], tree: &str, gate_key: &str, score: f64, passed: bool) -> String {
    let message = format!("{tree}\0{gate_key}\0{score:.9}\0{passed}");
    hmac_sha256(key, message.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HMAC (RFC 2104) with SHA-256.
fn hmac_sha256(key: &[u8; KEY_LEN], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    block[..KEY_LEN].copy_from_slice(key);
    let inner_pad = block.map(|b| b ^ 0x36);
    let outer_pad = block.map(|b| b ^ 0x5c);
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_with_a_32_byte_key() {
        // RFC 4231 test case 2 uses a 4-byte key; padded with zeros to 32 bytes it is the same key.
        let mut key = [0u8; KEY_LEN];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("vane.db");
        let first = key_for(&db).expect("made");
        assert_eq!(key_for(&db).expect("read"), first);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let a = seal(&first, "tree", "gate", 1.0, true);
        assert_ne!(a, seal(&first, "tree", "gate", 1.0, false));
        assert_ne!(a, seal(&[7u8; KEY_LEN], "tree", "gate", 1.0, true));
    }
}
