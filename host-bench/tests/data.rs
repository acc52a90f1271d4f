//! Loaders on the real files in ../shared/data.

use std::path::PathBuf;

use host_bench::data::{self, Kind, Sample, CHUNK};

fn shared(p: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(p)
}

#[test]
fn enwik_head_checked_and_cut_from_the_eval_start() {
    let path = shared("enwik8/enwik8.head");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(data::check_enwik(&bytes).unwrap(), Some("enwik8.head"));
    let c = data::load_enwik(&path, data::ENWIK_EVAL_START, None, Sample::All).unwrap();
    // (4_154_399 - 3_600_000) / 2048 = 270 whole chunks.
    assert_eq!((c.kind, c.len(), c.available), (Kind::Enwik, 270, 270));
    assert_eq!(&c.data[..CHUNK], &bytes[3_600_000..3_600_000 + CHUNK]);
    assert_eq!(
        &c.data[269 * CHUNK..],
        &bytes[3_600_000 + 269 * CHUNK..3_600_000 + 270 * CHUNK]
    );
    let e = data::load_enwik(&path, 0, None, Sample::Even(4)).unwrap();
    let total = 4_154_399 / CHUNK;
    assert_eq!((e.len(), e.available), (4, total));
    let i = 3 * total / 4;
    assert_eq!(&e.data[3 * CHUNK..], &bytes[i * CHUNK..(i + 1) * CHUNK]);
}

#[test]
fn enwik_size_of_a_known_file_with_wrong_bytes_is_refused() {
    let mut fake = vec![b'x'; 4_154_399];
    fake[0] = b'<';
    let err = data::check_enwik(&fake).unwrap_err();
    assert!(err.to_string().contains("enwik8.head"), "{err}");
    // Other sizes are just byte files.
    assert_eq!(data::check_enwik(b"hello").unwrap(), None);
}

#[test]
fn imagenet_patches_and_counts() {
    let dir = shared("imagenet");
    let files = data::list_files(&dir, &["jpeg", "jpg", "png"]).unwrap();
    assert_eq!(files.len(), 300);
    assert!(files.windows(2).all(|w| w[0] < w[1]));
    // One photo by hand: the patch grid and the grayscale formula against the
    // image crate's RGB decode.
    let f = &files[0];
    let rgb = image::open(f).unwrap().to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let (gw, gh, gray) = data::load_gray_image(f).unwrap();
    assert_eq!((gw, gh), (w, h));
    for (y, x) in [(0, 0), (17, 40), (h - 1, w - 1)] {
        let p = rgb.get_pixel(x as u32, y as u32);
        let mean = (u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3;
        assert_eq!(u32::from(gray[y * w + x]), mean);
    }
    let c = data::load_imagenet(&dir, Sample::First(1)).unwrap();
    assert_eq!(c.files, 1);
    assert_eq!(c.len(), 1);
    let mut patches = Vec::new();
    let n = data::push_patches(w, h, &gray, &mut patches);
    assert_eq!(n, (h / 32) * (w / 64));
    assert_eq!(&c.data[..], &patches[..CHUNK]);
    // Patch (row 1, col 2), its row 5 = image row 37, columns 128..192.
    let pc = w / 64;
    let p = &patches[(pc + 2) * CHUNK..(pc + 3) * CHUNK];
    assert_eq!(&p[5 * 64..6 * 64], &gray[37 * w + 128..37 * w + 192]);
}

#[test]
fn imagenet_total_chunk_count_matches_the_headers() {
    let dir = shared("imagenet");
    let files = data::list_files(&dir, &["jpeg"]).unwrap();
    // Expected count from the image sizes alone (headers, no decoding).
    let want: usize = files
        .iter()
        .map(|f| {
            let (w, h) = image::image_dimensions(f).unwrap();
            (h as usize / 32) * (w as usize / 64)
        })
        .sum();
    let c = data::load_imagenet(&dir, Sample::Even(10)).unwrap();
    assert_eq!((c.available, c.len(), c.files), (want, 10, 300));
}

#[test]
fn png_files_load_with_the_same_formula() {
    let dir = std::env::temp_dir().join(format!("hb-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (130u32, 70u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 256) as u8).collect();
    let p = dir.join("a.png");
    image::save_buffer(&p, &rgb, w, h, image::ColorType::Rgb8).unwrap();
    let c = data::load_imagenet(&dir, Sample::All).unwrap();
    assert_eq!(c.len(), 2 * 2);
    let g = |x: usize, y: usize| {
        let i = 3 * (y * w as usize + x);
        data::gray(rgb[i], rgb[i + 1], rgb[i + 2])
    };
    assert_eq!(c.data[0], g(0, 0));
    assert_eq!(c.data[CHUNK + 64 + 3], g(64 + 3, 1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn librispeech_conversion_and_counts() {
    let dir = shared("librispeech");
    let files = data::list_files(&dir, &["flac"]).unwrap();
    assert_eq!(files.len(), 126);
    // One utterance by hand: 16-bit samples through (s >> 8) + 128.
    let mut r = claxon::FlacReader::open(&files[0]).unwrap();
    let info = r.streaminfo();
    assert_eq!(
        (info.bits_per_sample, info.channels, info.sample_rate),
        (16, 1, 16_000)
    );
    let raw: Vec<i32> = r.samples().map(|s| s.unwrap()).collect();
    let u8s = data::load_flac_u8(&files[0]).unwrap();
    assert_eq!(u8s.len(), raw.len());
    for (i, &s) in raw.iter().enumerate().step_by(997) {
        assert_eq!(i32::from(u8s[i]), (s >> 8) + 128);
    }
    // Chunks per utterance, trailing partial dropped: from the headers.
    let want: usize = files
        .iter()
        .map(|f| {
            let r = claxon::FlacReader::open(f).unwrap();
            r.streaminfo().samples.unwrap() as usize / CHUNK
        })
        .sum();
    let c = data::load_librispeech(&dir, Sample::All).unwrap();
    assert_eq!((c.len(), c.files), (want, 126));
    let first = raw.len() / CHUNK;
    assert_eq!(&c.data[..first * CHUNK], &u8s[..first * CHUNK]);
    // The next utterance starts right after the first one's whole chunks.
    let second = data::load_flac_u8(&files[1]).unwrap();
    assert_eq!(
        &c.data[first * CHUNK..(first + 1) * CHUNK],
        &second[..CHUNK]
    );
}

#[test]
fn shipped_sample_is_what_its_readme_says() {
    let here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"));
    let sample = std::fs::read(here.join("enwik8-heldout-64k.bin")).unwrap();
    let head = std::fs::read(shared("enwik8/enwik8.head")).unwrap();
    assert_eq!(&sample[..], &head[3_600_000..3_600_000 + 65_536]);
    let c = data::load_librispeech(&here.join("librispeech"), Sample::All).unwrap();
    assert_eq!(c.files, 2);
    assert!(c.len() > 20);
}
