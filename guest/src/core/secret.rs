//! Secrets in the component's memory: overwritten with zeros when dropped, so that a
//! token does not linger in the instance's heap after the call that needed it.

/// Overwrite `bytes` with zeros in a way the optimizer may not remove.
pub fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// A UTF-8 secret (a token) that is wiped when dropped. Its `Debug` shows no content.
pub struct Secret(String);

impl Secret {
    /// Take ownership of `s`.
    pub fn new(s: String) -> Self {
        Secret(s)
    }

    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: zeros are valid UTF-8.
        wipe(unsafe { self.0.as_bytes_mut() });
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_nothing_and_wipe_zeroes() {
        let s = Secret::new("EAAG-very-secret".into());
        assert_eq!(format!("{s:?}"), "Secret(REDACTED)");
        assert_eq!(s.expose(), "EAAG-very-secret");
        let mut b = *b"token";
        wipe(&mut b);
        assert_eq!(b, [0; 5]);
    }
}
