//! The loader on arbitrary bytes: `ModelFile::parse` must return an error
//! or a model that runs, never panic or hang. The last input byte is a
//! control byte, not part of the file: when it is odd, the file's checksum
//! is recomputed so mutations reach the checks behind it (seeds are model
//! files plus `0x01`).
#![no_main]

use coder_core::Model;
use libfuzzer_sys::fuzz_target;
use model_int8::format::{fnv1a64, CHECKSUM_LEN};
use model_int8::{working_memory_size, Int8Model, ModelFile};

fuzz_target!(|data: &[u8]| {
    let Some((&control, file)) = data.split_last() else {
        return;
    };
    let mut bytes = file.to_vec();
    if control & 1 == 1 && bytes.len() > CHECKSUM_LEN {
        let n = bytes.len() - CHECKSUM_LEN;
        let sum = fnv1a64(&bytes[..n]);
        bytes[n..].copy_from_slice(&sum.to_le_bytes());
    }
    if let Ok(file) = ModelFile::parse(&bytes) {
        let size = working_memory_size(file.config());
        if size > 64 << 20 {
            return;
        }
        let mut work = vec![0u8; size];
        let mut m = Int8Model::new(&file, &mut work).expect("sized buffer");
        for s in [1usize, 2, 3, 200] {
            let n = m.frequencies().symbols();
            assert_eq!(n, file.config().vocab as usize);
            m.observe(s % n);
        }
    }
});
