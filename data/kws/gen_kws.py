#!/usr/bin/python3
"""Keyword-spotting clips in the spirit of Speech Commands, synthesised with
espeak-ng and sox (Debian packages espeak-ng, sox; numpy from python3-numpy).

Every clip is one word spoken by one "speaker" — one of espeak-ng's eight
English voices with one of its voice variants (speakers = voices ×
variants, 808 with espeak-ng 1.51) — at a seeded
random speed and pitch, converted by sox to 16 kHz mono 16-bit, placed at a
random offset in one second, with Gaussian or pink background noise at a
random SNR of 5–30 dB. Speakers are split 80/10/10 into train, validation
and test by a hash of their name, so no speaker is in two splits.

Labels: the ten Speech Commands keywords, "unknown" words (ten more), and a
disjoint set (the digits) for pre-training so that fine-tuning is transfer.

  gen_kws.py OUT [--speakers N | --per-split N] [--words keywords,unknown,digits] [--seed 1]

writes OUT/<split>/<label>/<speaker>_<word>.wav and OUT/manifest.csv
(path,split,label,word,speaker,speed,pitch,snr_db,noise). Reruns with the
same arguments give byte-identical files, and a clip is the same whatever
subset it is generated in. --speakers N takes the first N speakers in
sorted order, --per-split N the first N of each split.
"""
import argparse, csv, hashlib, io, os, subprocess, sys, tempfile, wave
import numpy as np

KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
UNKNOWN = ["bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow"]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
RATE = 16000


def speakers():
    out = subprocess.run(["espeak-ng", "--voices=en"], capture_output=True, text=True, check=True).stdout.splitlines()[1:]
    # espeak-ng's own English voices (files gmw/…); the mb/… rows are MBROLA
    # voices, which without MBROLA fall back to another voice (the same
    # speaker under two names, across splits).
    voices = sorted({f[1] for f in (line.split() for line in out) if len(f) > 4 and f[4].startswith("gmw/")})
    vdir = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout.split("Data at: ")[1].strip()
    variants = sorted(os.listdir(os.path.join(vdir, "voices", "!v")))
    return [(v, var) for v in voices for var in variants]


def split_of(name):
    h = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10
    return "train" if h < 8 else ("validation" if h == 8 else "test")


def synth(voice, variant, word, speed, pitch):
    with tempfile.TemporaryDirectory() as d:
        raw, res = os.path.join(d, "raw.wav"), os.path.join(d, "res.wav")
        subprocess.run(["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-p", str(pitch), "-w", raw, word], check=True)
        # 3 dB of headroom: resampling espeak-ng's full-scale output would clip
        subprocess.run(["sox", "-R", "-D", raw, "-b", "16", "-c", "1", res, "gain", "-3", "rate", str(RATE)], check=True)
        with wave.open(res) as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768


def pink(n, rng):
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    return x / (np.std(x) + 1e-12)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--speakers", type=int, default=0)
    ap.add_argument("--per-split", type=int, default=0, help="take only the first N speakers of each split")
    ap.add_argument("--words", default="keywords,unknown,digits")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    spk = speakers()
    if a.speakers:
        spk = spk[: a.speakers]
    if a.per_split:
        spk = [s for i, s in enumerate(spk) if [split_of(f"{v}+{r}") for v, r in spk[:i]].count(split_of(f"{s[0]}+{s[1]}")) < a.per_split]
    groups = {"keywords": [(w, w) for w in KEYWORDS], "unknown": [(w, "unknown") for w in UNKNOWN], "digits": [(w, w) for w in DIGITS]}
    words = [x for g in a.words.split(",") for x in groups[g]]
    rows = []
    for voice, variant in spk:
        name = f"{voice}+{variant}"
        split = split_of(name)
        for word, label in words:
            # one RNG per clip, seeded by its identity: any subset is the same clips
            rng = np.random.default_rng([a.seed, int(hashlib.sha256(f"{name}/{word}".encode()).hexdigest()[:12], 16)])
            speed, pitch = int(rng.integers(130, 221)), int(rng.integers(25, 76))
            x = synth(voice, variant, word, speed, pitch)[:RATE]
            clip = np.zeros(RATE)
            off = int(rng.integers(0, RATE - len(x) + 1))
            clip[off:off + len(x)] = x
            snr = float(rng.uniform(5, 30))
            kind = "pink" if rng.random() < 0.5 else "white"
            noise = pink(RATE, rng) if kind == "pink" else rng.standard_normal(RATE)
            p = np.mean(x ** 2) if len(x) else 1e-6
            clip += noise * np.sqrt(p / 10 ** (snr / 10))
            peak = np.max(np.abs(clip))
            if peak > 0.99:
                clip *= 0.99 / peak
            pcm = np.round(clip * 32767).astype("<i2")
            rel = os.path.join(split, label, f"{name.replace('+', '_')}_{word}.wav")
            path = os.path.join(a.out, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes(pcm.tobytes())
            rows.append([rel, split, label, word, name, speed, pitch, f"{snr:.2f}", kind])
    with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "split", "label", "word", "speaker", "speed", "pitch", "snr_db", "noise"])
        w.writerows(rows)
    print(f"{len(rows)} clips from {len(spk)} speakers in {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
