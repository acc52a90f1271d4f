//! Progress moves inside big blocks, and adds up to the input exactly.

use std::io::Cursor;
use std::sync::Mutex;

use coder_core::container::{Coding, Mode};
use lmc::{coding::TICK_BYTES, models::tiny_random_model, Int8Source, Settings};

#[test]
fn progress_ticks_inside_a_block_and_sums_to_the_input() {
    let bytes = tiny_random_model(3).unwrap();
    let model = Int8Source::new(&bytes).unwrap();
    let data: Vec<u8> = b"progress inside one big block; ".repeat(2200);
    for mode in [Mode::Model, Mode::Mixed] {
        let preset = if mode == Mode::Mixed { 1 } else { 0 };
        let coding = Coding {
            mode,
            preset,
            chained: false,
            region: None,
        };
        let settings = Settings::new(1 << 20).coding(coding);
        let calls = Mutex::new(Vec::new());
        let mut packed = Cursor::new(Vec::new());
        lmc::compress_with(Some(&model), &data[..], &mut packed, &settings, |n| {
            calls.lock().unwrap().push(n)
        })
        .unwrap();
        let c = calls.into_inner().unwrap();
        assert_eq!(c.iter().sum::<u64>(), data.len() as u64, "{mode:?}");
        assert!(
            c.len() as u64 >= data.len() as u64 / TICK_BYTES,
            "{mode:?}: {c:?}"
        );
        let calls = Mutex::new(Vec::new());
        let mut back = Vec::new();
        lmc::decompress(&model, &packed.get_ref()[..], &mut back, |n| {
            calls.lock().unwrap().push(n)
        })
        .unwrap();
        assert_eq!(back, data);
        let c = calls.into_inner().unwrap();
        assert_eq!(c.iter().sum::<u64>(), data.len() as u64, "{mode:?}");
        // (The tiny random model alone does not compress this text: the
        // block is stored, and a stored block is one step.)
        let mut r = lmc::open(&packed.get_ref()[..]).unwrap();
        if lmc::scan(&mut r).unwrap().coded > 0 {
            assert!(c.len() > 1, "{mode:?}: {c:?}");
        }
    }
}
