//! Ids in Meteor's format: 17 characters of its unambiguous alphabet.

/// Meteor's `Random.id()` alphabet: `23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz`.
pub const METEOR_ALPHABET: [char; 55] = [
    '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L',
    'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h',
    'i', 'j', 'k', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z',
];

/// A new 17-character id such as `"sGtcfEYz852uguxaS"`.
pub fn new_id() -> String {
    nanoid::nanoid!(17, &METEOR_ALPHABET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_17_meteor_chars() {
        let id = new_id();
        assert_eq!(id.chars().count(), 17);
        assert!(id.chars().all(|c| METEOR_ALPHABET.contains(&c)));
        assert_ne!(new_id(), id);
    }
}
