"""PyTorch twin of `noether experiment gym-pendulum` (paper Fig. 3), for a GPU.

Why: the quick preset's SVG is far from converged on 2 CPU cores, so "Noether beats SVG (more steps)"
cannot be decided there (docs/results.md). tfjs-node-gpu cannot be installed on the GPU machines we
get (bench/README.md), so this twin runs the *full* preset's computation in PyTorch instead:
the action-conditioned deterministic SVG of @noether/predictors-svg (svg.ts' SvgActionPredictor:
DCGAN-64 encoder/decoder with GroupNorm and skips, a 2×256 frame-predictor LSTM fed [h, action]),
the CNN embedding of @noether/embeddings-cnn, and core's metaStep: one differentiable inner SGD step
on the LSTM's latent h/c (mode 'latent') on the Noether loss 2(b) (batch mean), then the task loss
Σ_t MSE of the tailored autoregressive rollout. The building blocks are svg_lp.py's, which match the
tfjs models to 6 digits in bench/meta-step. Phases as apps/cli/src/experiments/gym-pendulum.ts:
svg (P epochs) → svg-more (+E epochs, same Adam state) and noether (E epochs of φ on the frozen θ).

Data: the episodes of `noether generate gym-pendulum --episodes 200 --seed 1 --out DIR` (the full
preset's data), packed into one compressed .npz (frames [E, T, H, W, 3] uint8, actions [E, T];
actions[t] drives the step producing frame t; 2 MB for the 200 episodes) to carry to a GPU machine:

    python3 bench/peers/gym_pendulum.py --pack DIR .gpu/gym64.npz

    python3 bench/peers/gym_pendulum.py --data gym64.npz --seed 1 --out DIR --phase svg
    python3 bench/peers/gym_pendulum.py --data gym64.npz --seed 1 --out DIR --phase svg-more &
    python3 bench/peers/gym_pendulum.py --data gym64.npz --seed 1 --out DIR --phase noether

Each phase writes DIR/<phase>-seed<S>.json (held-out MSE per predicted frame and its mean, steps run);
svg also writes the checkpoint svg-seed<S>.pt that the other two start from. bench/gpu/gym-pendulum.sh
runs seeds side by side on one GPU.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svg_lp import cnn_g, conv_layers, decode, encode, init_cnn_embedding, init_svg, lstm, zero_state  # noqa: E402


def init_params(cfg, g, dev):
    """θ: svg_lp's SVG with the frame predictor fed [h, action] and no prior/posterior; φ: the CNN
    embedding with the config's filters. Leaves on `dev` that require gradients."""
    th = init_svg(cfg, g, 1, gaussian=False)
    ph = init_cnn_embedding(cfg, g, cfg['filters'])
    leaf = lambda p: {k: v.to(dev).requires_grad_(True) for k, v in p.items()}  # noqa: E731
    return leaf(th), leaf(ph)


def init_state(net, cfg, p, ctx, acts):
    """SvgActionPredictor.initState: context frames 0..C−2 advance the LSTM with the action of the
    next frame; the last context frame is encoded for the first step (its skips serve all steps)."""
    C = len(ctx)
    latent = zero_state(cfg['predictorLayers'], cfg['rnnSize'], ctx[0].flatten(1))
    for i in range(C - 1):
        h = encode(net, cfg, p, ctx[i])[0]
        _, latent = lstm(p, 'fp', torch.cat([h, acts[:, i + 1:i + 2]], 1), latent)
    h, skips = encode(net, cfg, p, ctx[-1])
    return latent, h, skips


def rollout(net, cfg, p, latent, h, skips, acts, C, T):
    """Autoregressive: step t encodes x̃_{t−1} (the last context frame first) and decodes x̃_t."""
    preds = []
    for t in range(T):
        code, latent = lstm(p, 'fp', torch.cat([h, acts[:, C + t:C + t + 1]], 1), latent)
        x = decode(net, cfg, p, code, skips)
        preds.append(x)
        if t + 1 < T:
            h = encode(net, cfg, p, x)[0]
    return preds


def noether_2b(ph, ctx, preds):
    seq = ctx[-2:] + preds
    e = [cnn_g(ph, seq[i], seq[i + 1]) for i in range(len(seq) - 1)]
    return sum(((e[t - 1] - e[t]) ** 2).sum(-1) for t in range(1, len(e))).mean()


def task_loss(preds, targets):
    return sum(((x - y) ** 2).mean() for x, y in zip(preds, targets))


def predict(net, cfg, th, ph, obs, acts, tailor, differentiable):
    """Untailored (ph None) or latent-tailored rollout: one SGD step of lr cfg['innerLr'] on h/c."""
    C, T = cfg['context'], cfg['horizon']
    ctx = [obs[:, i] for i in range(C)]
    latent, h, skips = init_state(net, cfg, th, ctx, acts)
    if not tailor:
        return rollout(net, cfg, th, latent, h, skips, acts, C, T), None
    hs, cs = latent
    vs = [v if v.requires_grad else v.detach().requires_grad_(True) for v in [*hs, *cs]]
    n = len(hs)
    with torch.enable_grad():
        inner = noether_2b(ph, ctx, rollout(net, cfg, th, (vs[:n], vs[n:]), h, skips, acts, C, T))
        grads = torch.autograd.grad(inner, vs, create_graph=differentiable)
    vs2 = [v - cfg['innerLr'] * g for v, g in zip(vs, grads)]
    return rollout(net, cfg, th, (vs2[:n], vs2[n:]), h, skips, acts, C, T), inner.detach()


def windows(frames, actions, episodes, L, stride):
    return [(e, s) for e in episodes for s in range(0, frames.shape[1] - L + 1, stride)]


def batch(frames, actions, idx, dev, L):
    obs = torch.from_numpy(np.stack([frames[e, s:s + L] for e, s in idx])).to(dev)
    acts = torch.from_numpy(np.stack([actions[e, s:s + L] for e, s in idx])).to(dev)
    return obs.permute(0, 1, 4, 2, 3).float().div_(255), acts.float()


def clip_(grads, max_norm):
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if max_norm is not None and norm > max_norm:
        for g in grads:
            g.mul_(max_norm / norm)
    return norm


def evaluate(net, cfg, th, ph, frames, actions, test, dev, tailor):
    per_t = torch.zeros(cfg['horizon'], dtype=torch.float64)
    copy_t = torch.zeros(cfg['horizon'], dtype=torch.float64)  # the last context frame repeated
    inner_sum, n = 0.0, 0
    C = cfg['context']
    for i in range(0, len(test), cfg['evalBatch']):
        idx = test[i:i + cfg['evalBatch']]
        obs, acts = batch(frames, actions, idx, dev, cfg['context'] + cfg['horizon'])
        with torch.no_grad():
            preds, inner = predict(net, cfg, th, ph, obs, acts, tailor, False)
            for t, x in enumerate(preds):
                per_t[t] += ((x - obs[:, C + t]) ** 2).mean((1, 2, 3)).sum().double().cpu()
                copy_t[t] += ((obs[:, C - 1] - obs[:, C + t]) ** 2).mean((1, 2, 3)).sum().double().cpu()
        if inner is not None:
            inner_sum += float(inner) * len(idx)
        n += len(idx)
    per_t /= n
    copy_t /= n
    return dict(meanOverHorizon=float(per_t.mean()), perFrame=[float(v) for v in per_t], copyLast=float(copy_t.mean()),
                innerLoss=inner_sum / n if tailor else None, windows=n)


def train(net, cfg, params, frames, actions, train_w, epochs, seed, dev, opt, meta, log, tag, budget):
    """One phase: epochs over shuffled windows (batch cfg['batch'], last partial batch dropped);
    meta = (th, ph) trains φ through the tailored rollout, else θ on the untailored one."""
    B = cfg['batch']
    t0, step, last = time.time(), 0, None
    total = epochs * (len(train_w) // B)
    for ep in range(epochs):
        order = np.random.default_rng([seed, ep]).permutation(len(train_w))
        for k in range(len(train_w) // B):
            obs, acts = batch(frames, actions, [train_w[j] for j in order[k * B:(k + 1) * B]], dev, cfg['context'] + cfg['horizon'])
            C = cfg['context']
            targets = [obs[:, C + t] for t in range(cfg['horizon'])]
            if meta:
                th, ph = meta
                preds, _ = predict(net, cfg, th, ph, obs, acts, True, True)
            else:
                preds, _ = predict(net, cfg, params, None, obs, acts, False, False)
            loss = task_loss(preds, targets)
            ps = list(params.values())
            grads = torch.autograd.grad(loss, ps)
            clip_(grads, cfg['clipPhi'] if meta else None)
            for p, g in zip(ps, grads):
                p.grad = g
            opt.step()
            step += 1
            last = float(loss.detach())
            if step % 50 == 0 or step == total:
                el = time.time() - t0
                log(f'[{tag}] epoch {ep + 1}/{epochs} step {step}/{total} loss {last:.5f} '
                    f'{el / step * 1000:.0f} ms/step ETA {el / step * (total - step):.0f} s')
            if time.time() - t0 > budget:
                log(f'[{tag}] stopped by the time budget at step {step}/{total}')
                return dict(steps=step, planned=total, finalLoss=last, seconds=time.time() - t0)
    return dict(steps=step, planned=total, finalLoss=last, seconds=time.time() - t0)


def pack(src, dst):
    """`noether generate gym-pendulum` episodes (manifest.json listing each episode's frames, uint8
    T×H×W×3, and meta, float32 T×3: action, θ, θ̇; equal lengths) → one compressed npz."""
    m = json.load(open(os.path.join(src, 'manifest.json')))
    S, C, eps = m['size'], m['channels'], m['episodes']
    frames = np.stack([np.fromfile(os.path.join(src, e['frames']), np.uint8).reshape(e['length'], S, S, C) for e in eps])
    meta = np.stack([np.fromfile(os.path.join(src, e['meta']), '<f4').reshape(e['length'], 3) for e in eps])
    n, T = frames.shape[:2]
    np.savez_compressed(dst, frames=frames, actions=meta[:, :, 0])
    print(f'packed {n} episodes of {T} frames ({S}×{S}) into {dst}')


def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--pack':
        return pack(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--ckpt-dir', help='where svg-seed<S>.pt goes (default: --out)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--phase', choices=['svg', 'svg-more', 'noether'], default='svg')
    ap.add_argument('--svg-epochs', type=int, default=50)
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--train-episodes', type=int, default=5)
    ap.add_argument('--test-episodes', type=int, default=195)
    ap.add_argument('--horizon', type=int, default=26)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--g-dim', type=int, default=128)
    ap.add_argument('--rnn', type=int, default=256)
    ap.add_argument('--inner-lr', type=float, default=10.0)
    ap.add_argument('--budget', type=float, default=1e9, help='seconds per training phase')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = False  # fp32 as the tfjs run, second order included
    torch.backends.cuda.matmul.allow_tf32 = False
    cfg = dict(size=a.size, channels=3, gDim=a.g_dim, rnnSize=a.rnn, predictorLayers=2, context=4,
               horizon=a.horizon, batch=16, evalBatch=16, innerLr=a.inner_lr, lrTheta=1e-3, lrPhi=1e-3,
               clipPhi=1000.0, embDim=64, filters=[32, 64])
    L = cfg['context'] + cfg['horizon']
    d = np.load(a.data)
    frames, actions = d['frames'], d['actions'].astype(np.float32)
    if frames.shape[2] != a.size:
        raise SystemExit(f'--size {a.size} but the frames are {frames.shape[2]} px')
    tr = list(range(a.train_episodes))
    te = list(range(a.train_episodes, min(frames.shape[0], a.train_episodes + a.test_episodes)))
    train_w = windows(frames, actions, tr, L, 1)
    test_w = windows(frames, actions, te, L, 30)
    os.makedirs(a.out, exist_ok=True)
    logf = open(os.path.join(a.ckpt_dir or a.out, f'log-seed{a.seed}.txt'), 'a')

    def log(msg):
        print(f'[seed {a.seed} {a.phase}] {msg}', flush=True)
        logf.write(msg + '\n')
        logf.flush()
    res = dict(seed=a.seed, phase=a.phase, config=cfg,
               device=str(dev) + (f' ({torch.cuda.get_device_name()})' if dev.type == 'cuda' else ''),
               torch=torch.__version__, trainWindows=len(train_w), testWindows=len(test_w),
               epochs=dict(svg=a.svg_epochs, svgMore=a.svg_epochs + a.epochs, noether=a.epochs))
    path = os.path.join(a.out, f'{a.phase}-seed{a.seed}.json')
    ckpt = os.path.join(a.ckpt_dir or a.out, f'svg-seed{a.seed}.pt')

    def save():
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(res, f, indent=1)
        os.replace(tmp, path)
    net = conv_layers(cfg)
    g = torch.Generator().manual_seed(a.seed)
    th, ph = init_params(cfg, g, dev)
    optT = torch.optim.Adam(list(th.values()), lr=cfg['lrTheta'], eps=1e-8)
    log(f'{a.phase}: {len(train_w)} training windows, {len(test_w)} test windows, device {res["device"]}')
    if a.phase == 'svg':
        res['train'] = train(net, cfg, th, frames, actions, train_w, a.svg_epochs, a.seed, dev, optT, None, log, 'svg', a.budget)
        torch.save(dict(theta={k: v.detach().cpu() for k, v in th.items()}, adam=optT.state_dict()), ckpt + '.tmp')
        os.replace(ckpt + '.tmp', ckpt)
        res['test'] = evaluate(net, cfg, th, None, frames, actions, test_w, dev, False)
    else:
        # svg-more and noether both start from the frozen svg phase (run them side by side).
        saved = torch.load(ckpt, weights_only=False)
        with torch.no_grad():
            for k, v in th.items():
                v.copy_(saved['theta'][k].to(dev))
        if a.phase == 'svg-more':
            optT.load_state_dict(saved['adam'])  # the same run continued, Adam moments and step count
            res['train'] = train(net, cfg, th, frames, actions, train_w, a.epochs, a.seed + 7919, dev, optT, None, log, 'svg-more', a.budget)
            res['test'] = evaluate(net, cfg, th, None, frames, actions, test_w, dev, False)
        else:
            frozen = {k: v.detach() for k, v in th.items()}
            optP = torch.optim.Adam(list(ph.values()), lr=cfg['lrPhi'], eps=1e-8)
            res['train'] = train(net, cfg, ph, frames, actions, train_w, a.epochs, a.seed + 104729, dev, optP, (frozen, ph), log, 'noether', a.budget)
            res['test'] = evaluate(net, cfg, frozen, ph, frames, actions, test_w, dev, True)
    log(f"{a.phase}: held-out MSE {res['test']['meanOverHorizon']:.7f}")
    save()


if __name__ == '__main__':
    main()
