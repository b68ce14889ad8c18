#!/usr/bin/python3
"""Generates audio/testdata for audio/fbank_test.go: three short 16-bit PCM
WAV files (a chirp with noise at 16 kHz mono, the same at 8 kHz, a stereo
tone at 16 kHz) and their Kaldi-style log-mel filterbanks as
torchaudio.compliance.kaldi.fbank computes them with AST's settings
(128 bins, 25 ms windows, 10 ms hop, dither 0, Hanning window, no energy),
and with Kaldi's defaults (23 bins, Povey window), as float32 in
fbank.safetensors. Samples are read back from the written files, so the
fixture sees exactly the 16-bit values. Also the chirps resampled by
torchaudio.functional.resample to 8, 16, 22.05 and 44.1 kHz.

Run: /usr/bin/python3 audio/testdata/gen_fbank.py   (Debian python3-torch, python3-torchaudio)
"""
import json, math, os, struct, wave
import torch, torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
exec(compile(open(os.path.join(HERE, "../../train/testdata/gen_train_parity.py")).read().split("\ndef rope_tables")[0], "gen_train_parity.py", "exec"))  # write_safetensors


def write_wav(name, rate, chans):
    g = torch.Generator().manual_seed(len(name))
    n = chans[0].numel()
    data = torch.stack(chans, 1).reshape(-1)
    pcm = (data.clamp(-1, 1) * 32767).round().to(torch.int16)
    with wave.open(os.path.join(HERE, name), "wb") as w:
        w.setnchannels(len(chans))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.numpy().tobytes())


def chirp(rate, secs, g):
    t = torch.arange(int(rate * secs), dtype=torch.float64) / rate
    x = 0.5 * torch.sin(2 * math.pi * (200 * t + 1500 * t * t)) + 0.05 * torch.randn(t.numel(), generator=g, dtype=torch.float64)
    return x.float()


g = torch.Generator().manual_seed(1)
write_wav("chirp16k.wav", 16000, [chirp(16000, 0.5, g)])
write_wav("chirp8k.wav", 8000, [chirp(8000, 0.5, g)])
t = torch.arange(8000) / 16000.0
write_wav("stereo16k.wav", 16000, [0.3 * torch.sin(2 * math.pi * 440 * t), 0.2 * torch.sin(2 * math.pi * 1000 * t)])

out = {}
for name in ["chirp16k.wav", "chirp8k.wav", "stereo16k.wav"]:
    wav, sr = torchaudio.load(os.path.join(HERE, name))  # float in [-1, 1): int16 / 32768
    mono = wav.mean(0, keepdim=True)
    key = name[:-4]
    out[key + ".samples"] = mono[0].contiguous()
    out[key + ".ast"] = torchaudio.compliance.kaldi.fbank(mono, htk_compat=True, sample_frequency=sr, use_energy=False,
                                                         window_type="hanning", num_mel_bins=128, dither=0.0, frame_shift=10)
    out[key + ".kaldi"] = torchaudio.compliance.kaldi.fbank(mono, sample_frequency=sr, dither=0.0)
    print(key, sr, tuple(out[key + ".ast"].shape), tuple(out[key + ".kaldi"].shape))
# torchaudio.functional.resample's default (sinc_interp_hann, 6 zero crossings, roll-off 0.99)
for key, src, rate in [("chirp8k", "chirp8k.samples", 8000), ("chirp16k", "chirp16k.samples", 16000)]:
    x = out[src][None, :]
    for to in (16000, 22050, 44100, 8000):
        if to != rate:
            out[f"{key}.resample{to}"] = torchaudio.functional.resample(x, rate, to)[0].contiguous()
write_safetensors(os.path.join(HERE, "fbank.safetensors"), out,
                  {"generator": "audio/testdata/gen_fbank.py", "torch": torch.__version__, "torchaudio": torchaudio.__version__})
