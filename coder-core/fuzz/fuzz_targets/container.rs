//! The container parser and decoder on arbitrary bytes: never a panic, and
//! a stream it accepts decodes the same through the slice and Vec APIs.
#![no_main]

use coder_core::container::{decompress_into, decompress_to_vec, ChunkReader};
use coder_core::models::{ContextConfig, ContextModel};
use coder_core::Model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut model = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
    // The seeds are made with this model; patch the fingerprint in so that
    // mutated streams reach the chunk decoder instead of ModelMismatch.
    let mut data = data.to_vec();
    if data.len() >= 36 && data[0] == b'!' {
        data[0] = b'L';
        data[8..16].copy_from_slice(&model.fingerprint().to_le_bytes());
        let check = coder_core::crc32(&data[..32]);
        data[32..36].copy_from_slice(&check.to_le_bytes());
    }
    // Keep each run short: headers may claim huge lengths.
    if let Ok(r) = ChunkReader::new(&data) {
        if r.header().original_len > 1 << 20 {
            return;
        }
        for c in r {
            if c.is_err() {
                break;
            }
        }
    }
    let v = decompress_to_vec(&mut model, &data);
    let mut out = vec![0u8; 1 << 16];
    let s = decompress_into(&mut model, &data, &mut out);
    match (&v, s) {
        (Ok(v), Ok(n)) => assert_eq!(&out[..n], &v[..]),
        (Ok(v), Err(e)) => assert!(v.len() > out.len(), "{e}"),
        (Err(a), Err(b)) => {
            if *a != b {
                // Only a too-small output buffer may differ.
                assert_eq!(b, coder_core::Error::OutputFull, "{a} vs {b}");
            }
        }
        (Err(e), Ok(_)) => panic!("slice API accepted what the Vec API refused: {e}"),
    }
});
