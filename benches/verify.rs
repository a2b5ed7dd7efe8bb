//! Password verifications per second, per scheme, next to the raw crate's rate for
//! the same parameters (issue 3): the engine's own overhead is the difference.
//!
//! `cargo bench --bench verify`. Parameters are the cheap ends used in the samples
//! (bcrypt cost 4, argon2 m=64 KiB t=1, PBKDF2 1000 rounds, sha-crypt 1000/5000
//! rounds); real stores cost far more per check, which is why checks are budgeted.

use std::hint::black_box;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leakmatch::verify::{self, parse_stored};

const PW: &[u8] = b"correct horse";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);

    // Fast schemes.
    let sha1 = parse_stored(&hex(&verify::fast::sha1(PW))).unwrap();
    g.bench_function("leakmatch/sha1", |b| {
        b.iter(|| verify::verify(sha1.scheme, &sha1.data, black_box(PW)))
    });
    g.bench_function("raw/sha1", |b| {
        use sha1::Digest;
        b.iter(|| sha1::Sha1::digest(black_box(PW)))
    });
    let nt = parse_stored(&format!("$NT${}", hex(&verify::fast::nt(PW)))).unwrap();
    g.bench_function("leakmatch/nt", |b| {
        b.iter(|| verify::verify(nt.scheme, &nt.data, black_box(PW)))
    });

    // bcrypt cost 4.
    let bc = bcrypt::hash_with_salt(PW, 4, [3u8; 16])
        .unwrap()
        .to_string();
    let bch = parse_stored(&bc).unwrap();
    g.bench_function("leakmatch/bcrypt-4", |b| {
        b.iter(|| verify::verify(bch.scheme, &bch.data, black_box(PW)))
    });
    g.bench_function("raw/bcrypt-4", |b| {
        b.iter(|| bcrypt::verify(black_box(PW), &bc).unwrap())
    });

    // argon2id m=64 KiB, t=1, p=1.
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let a2 = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"saltsaltsalt").unwrap();
    let a2s = a2.hash_password(PW, &salt).unwrap().to_string();
    let a2h = parse_stored(&a2s).unwrap();
    g.bench_function("leakmatch/argon2id-m64-t1", |b| {
        b.iter(|| verify::verify(a2h.scheme, &a2h.data, black_box(PW)))
    });
    g.bench_function("raw/argon2id-m64-t1", |b| {
        let parsed = PasswordHash::new(&a2s).unwrap();
        b.iter(|| {
            Argon2::default()
                .verify_password(black_box(PW), &parsed)
                .is_ok()
        })
    });

    // PBKDF2-SHA256, 1000 rounds (Django form).
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PW, b"salt", 1000, &mut out);
    use base64::Engine;
    let dj = format!(
        "pbkdf2_sha256$1000$salt${}",
        base64::engine::general_purpose::STANDARD.encode(out)
    );
    let djh = parse_stored(&dj).unwrap();
    g.bench_function("leakmatch/django_pbkdf2_sha256-1000", |b| {
        b.iter(|| verify::verify(djh.scheme, &djh.data, black_box(PW)))
    });
    g.bench_function("raw/pbkdf2_sha256-1000", |b| {
        b.iter(|| {
            let mut o = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(black_box(PW), b"salt", 1000, &mut o);
            o
        })
    });

    // sha512crypt, 5000 rounds.
    let params = sha_crypt::Sha512Params::new(5000).unwrap();
    let h = sha_crypt::sha512_crypt_b64(PW, b"saltsalt", &params).unwrap();
    let sc = format!("$6$saltsalt${h}");
    let sch = parse_stored(&sc).unwrap();
    g.bench_function("leakmatch/sha512crypt-5000", |b| {
        b.iter(|| verify::verify(sch.scheme, &sch.data, black_box(PW)))
    });
    g.bench_function("raw/sha512crypt-5000", |b| {
        b.iter(|| sha_crypt::sha512_crypt_b64(black_box(PW), b"saltsalt", &params).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
