#!/usr/bin/python3
"""PyTorch reference for bench/meta-step: the same three meta-training steps as
bench/meta-step/problems.mjs (one outer Adam step through one differentiable inner SGD step on the
Noether loss, torch.autograd.grad(create_graph=True)), float32, torch.set_num_threads(2). The svg
problem (SVG-LP) lives in svg_lp.py.

  /usr/bin/python3 bench/peers/meta_step.py --problem mlp --steps 20     # standalone timing
  /usr/bin/python3 bench/peers/meta_step.py --worker                     # driven by run.mjs

As a worker it speaks run.mjs' line protocol (one JSON command per line on stdin, one JSON reply
per line on stdout) and can start from the tfjs worker's initial θ, φ and batches (`load`), so the
first-step losses of the two implementations can be compared.
"""
import argparse
import base64
import json
import math
import os
import subprocess
import sys
import time


def ensure_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        print('[meta_step.py] torch missing: apt-get install -y python3-torch', file=sys.stderr)
        subprocess.run(['apt-get', 'install', '-y', 'python3-torch'], check=True, stdout=sys.stderr)
    # Debian's torch does its matmuls through the libblas.so.3 alternative; with only the reference
    # BLAS (libblas3) installed a 256×200×200 matmul takes ~30 ms instead of ~1 ms, a straw-man peer.
    blas = os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')
    if os.path.exists(blas) and 'openblas' not in blas and 'mkl' not in blas and 'blis' not in blas:
        print(f'[meta_step.py] {blas} is the reference BLAS: apt-get install -y libopenblas0-pthread', file=sys.stderr)
        subprocess.run(['apt-get', 'install', '-y', 'libopenblas0-pthread'], check=True, stdout=sys.stderr)


def _threads_from_argv():
    a = sys.argv
    return a[a.index('--threads') + 1] if '--threads' in a[:-1] else os.environ.get('TORCH_THREADS', '2')


# Before torch loads: OpenBLAS' own thread pool and OpenMP spin-waiting oversubscribe a loaded
# 2-core machine (a 10x slower MLP step was seen); BLAS threads = torch threads, passive waiting.
_THREADS = _threads_from_argv()
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
os.environ.setdefault('OPENBLAS_NUM_THREADS', _THREADS)
os.environ.setdefault('OMP_NUM_THREADS', _THREADS)
ensure_torch()
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no bench/peers/__pycache__ in the work tree
import svg_lp  # noqa: E402

# Keep in step with bench/meta-step/problems.mjs.
MLP = dict(batch=256, context=1, horizon=5, dt=0.1, hidden=200, innerLr=0.01, lrTheta=1e-3, lrPhi=1e-3, batches=4)
VIDEO = dict(batch=4, context=2, horizon=10, size=64, channels=3, embDim=64, innerLr=0.01, lrTheta=1e-3, lrPhi=1e-3, batches=2)
# name, kernel, stride, in, out, normalised (conv 'same' padding: k=4/s=2 → 1, k=3/s=1 → 1)
VIDEO_LAYERS = [('e1', 4, 2, 3, 32, True), ('e2', 4, 2, 32, 64, True), ('m', 3, 1, 64, 64, True),
                ('d1', 3, 1, 64, 32, True), ('d2', 3, 1, 32, 3, False)]


def rss_bytes():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def decode(t):
    a = np.frombuffer(base64.b64decode(t['b64']), dtype='<f4').reshape(t['shape'])
    return torch.from_numpy(a.copy())


# ---------------------------------------------------------------------------------------------
# (1) MLP: x_t = x_{t-1} + f(x_{t-1}) dt, f = 2→200→200→2 tanh (no last bias); g(x) = xᵀAx + bᵀx.

def mlp_f(th, x):
    h = torch.tanh(x @ th['l0/w'] + th['l0/b'])
    h = torch.tanh(h @ th['l1/w'] + th['l1/b'])
    return h @ th['l2/w']


def mlp_rollout(th, x0, T):
    preds, x = [], x0
    for _ in range(T):
        x = x + mlp_f(th, x) * MLP['dt']
        preds.append(x)
    return preds


def quad_g(ph, x):
    return ((x @ ph['A']) * x).sum(-1, keepdim=True) + x @ ph['b'].reshape(2, 1)


def mlp_meta_loss(th, ph, obs):
    C, T = MLP['context'], MLP['horizon']
    x0 = obs[:, C - 1]
    targets = [obs[:, C - 1 + t] for t in range(1, T + 1)]
    names = list(th.keys())
    # Inner: one SGD step on the Noether loss (form 2a) over all of θ, kept on the graph.
    preds = mlp_rollout(th, x0, T)
    e0 = quad_g(ph, x0)
    inner = sum(((e0 - quad_g(ph, p)) ** 2).sum(-1) for p in preds).mean()
    grads = torch.autograd.grad(inner, [th[n] for n in names], create_graph=True)
    th2 = {n: th[n] - MLP['innerLr'] * g for n, g in zip(names, grads)}
    preds2 = mlp_rollout(th2, x0, T)
    return sum(((p - y) ** 2).mean() for p, y in zip(preds2, targets))


def mlp_init(seed):
    g = torch.Generator().manual_seed(seed)

    def glorot(i, o):
        lim = math.sqrt(6 / (i + o))
        return (torch.rand(i, o, generator=g) * 2 - 1) * lim
    H = MLP['hidden']
    th = {'l0/w': glorot(2, H), 'l0/b': torch.zeros(H), 'l1/w': glorot(H, H), 'l1/b': torch.zeros(H), 'l2/w': glorot(H, 2)}
    ph = {'A': torch.randn(2, 2, generator=g) * 0.5, 'b': torch.randn(2, generator=g) * 0.5}
    B, L = MLP['batch'], MLP['context'] + MLP['horizon']
    batches = []
    for _ in range(MLP['batches']):
        r = torch.rand(B, 1, generator=g) + 0.5
        a = torch.rand(B, 1, generator=g) * 2 * math.pi
        t = torch.arange(L).float()[None] * MLP['dt']  # noqa: E741
        batches.append(torch.stack([r * torch.cos(a + t), -r * torch.sin(a + t)], -1))
    return th, ph, batches


# ---------------------------------------------------------------------------------------------
# (2) Video: conv predictor with GroupNorm(1, C) + per-example CN (γ, β) tailored; CNN embedding on
# frame pairs (Conv5×5(32)-ReLU-MaxPool, Conv5×5(64)-ReLU-MaxPool, FC 64). NCHW.

def video_layer(th, cn, name, x, stride):
    y = F.conv2d(x, th[f'{name}/w'], th[f'{name}/b'], stride=stride, padding=1)
    y = F.group_norm(y, 1, th[f'{name}/gn/scale'], th[f'{name}/gn/offset'], eps=1e-5)
    y = y * cn[f'{name}/cn/gamma'][:, :, None, None] + cn[f'{name}/cn/beta'][:, :, None, None]
    return F.relu(y)


def video_step(th, cn, x):
    h1 = video_layer(th, cn, 'e1', x, 2)
    h2 = video_layer(th, cn, 'e2', h1, 2)
    h3 = video_layer(th, cn, 'm', h2, 1) + h2
    d1 = video_layer(th, cn, 'd1', F.interpolate(h3, scale_factor=2, mode='nearest'), 1)
    out = F.conv2d(F.interpolate(d1, scale_factor=2, mode='nearest'), th['d2/w'], th['d2/b'], padding=1)
    return torch.sigmoid(out)


def video_rollout(th, cn, x0, T):
    preds, x = [], x0
    for _ in range(T):
        x = video_step(th, cn, x)
        preds.append(x)
    return preds


def cnn_g(ph, a, b):
    x = torch.cat([a, b], 1)
    h = F.max_pool2d(F.relu(F.conv2d(x, ph['conv1/w'], ph['conv1/b'], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, ph['conv2/w'], ph['conv2/b'], padding=2)), 2)
    return h.flatten(1) @ ph['fc/w'] + ph['fc/b']


def video_meta_loss(th, ph, obs):
    C, T, B = VIDEO['context'], VIDEO['horizon'], obs.shape[0]
    ctx = [obs[:, i] for i in range(C)]
    targets = [obs[:, C - 1 + t] for t in range(1, T + 1)]
    cn = {}
    for name, _, _, _, cout, norm in VIDEO_LAYERS:
        if norm:
            cn[f'{name}/cn/gamma'] = torch.ones(B, cout, device=obs.device, requires_grad=True)
            cn[f'{name}/cn/beta'] = torch.zeros(B, cout, device=obs.device, requires_grad=True)
    names = list(cn.keys())
    preds = video_rollout(th, cn, ctx[-1], T)
    seq = ctx[-2:] + preds
    e = [cnn_g(ph, seq[i], seq[i + 1]) for i in range(len(seq) - 1)]
    inner = sum(((e[0] - e[t]) ** 2).sum(-1) for t in range(1, len(e))).mean()
    grads = torch.autograd.grad(inner, [cn[n] for n in names], create_graph=True)
    cn2 = {n: cn[n] - VIDEO['innerLr'] * g for n, g in zip(names, grads)}
    preds2 = video_rollout(th, cn2, ctx[-1], T)
    return sum(((p - y) ** 2).mean() for p, y in zip(preds2, targets))


def video_init(seed):
    g = torch.Generator().manual_seed(seed)

    def fan_in(shape, fan):
        lim = 1 / math.sqrt(fan)
        return (torch.rand(*shape, generator=g) * 2 - 1) * lim
    th = {}
    for name, k, _, cin, cout, norm in VIDEO_LAYERS:
        th[f'{name}/w'] = fan_in((cout, cin, k, k), k * k * cin)
        th[f'{name}/b'] = fan_in((cout,), k * k * cin)
        if norm:
            th[f'{name}/gn/scale'] = 1 + 0.02 * torch.randn(cout, generator=g)
            th[f'{name}/gn/offset'] = torch.zeros(cout)
    Ch, S, D = VIDEO['channels'], VIDEO['size'], VIDEO['embDim']
    flat = (S // 4) * (S // 4) * 64
    ph = {'conv1/w': fan_in((32, 2 * Ch, 5, 5), 25 * 2 * Ch), 'conv1/b': fan_in((32,), 25 * 2 * Ch),
          'conv2/w': fan_in((64, 32, 5, 5), 25 * 32), 'conv2/b': fan_in((64,), 25 * 32),
          'fc/w': fan_in((flat, D), flat), 'fc/b': fan_in((D,), flat)}
    B, L = VIDEO['batch'], VIDEO['context'] + VIDEO['horizon']
    batches = [torch.rand(B, L, Ch, S, S, generator=g) for _ in range(VIDEO['batches'])]
    return th, ph, batches


def video_from_tfjs(payload):
    """tfjs layouts (NHWC, conv [kh, kw, in, out], flatten in H, W, C order) → PyTorch's."""
    th, ph = {}, {}
    for k, t in payload['theta'].items():
        v = decode(t)
        th[k] = v.permute(3, 2, 0, 1).contiguous() if v.dim() == 4 else v
    for k, t in payload['phi'].items():
        v = decode(t)
        if v.dim() == 4:
            v = v.permute(3, 2, 0, 1).contiguous()
        elif k == 'fc/w':
            s = VIDEO['size'] // 4
            v = v.reshape(s, s, 64, -1).permute(2, 0, 1, 3).reshape(s * s * 64, -1).contiguous()
        ph[k] = v
    batches = [decode(b).permute(0, 1, 4, 2, 3).contiguous() for b in payload['batches']]
    return th, ph, batches


# ---------------------------------------------------------------------------------------------

class Runner:
    def __init__(self, problem, seed=1, load=None, device='cpu', svg_overrides=None):
        self.problem = problem
        self.device = torch.device(device)
        if problem == 'mlp':
            self.cfg, self.meta_loss = MLP, mlp_meta_loss
            if load:
                p = json.load(open(load))
                th = {k: decode(t) for k, t in p['theta'].items()}
                ph = {k: decode(t) for k, t in p['phi'].items()}
                batches = [decode(b) for b in p['batches']]
            else:
                th, ph, batches = mlp_init(seed)
        elif problem == 'video':
            self.cfg, self.meta_loss = VIDEO, video_meta_loss
            th, ph, batches = video_from_tfjs(json.load(open(load))) if load else video_init(seed)
        elif problem == 'svg':
            # The posterior noise ε of meta-step k is noise[k]: from the tfjs dump (core's makeWindow
            # draws it from Rng(k)), or torch.randn when standalone.
            cfg, th, ph, batches, noise = (svg_lp.from_tfjs(json.load(open(load)), decode) if load
                                           else svg_lp.init(dict(svg_lp.SVG, **(svg_overrides or {})), seed))
            self.cfg, self.noise = cfg, noise.float().to(self.device)

            def svg_loss(th_, ph_, obs):
                if self.steps >= len(self.noise):
                    raise ValueError(f'the svg dump holds the noise of {len(self.noise)} meta-steps; step {self.steps + 1} asked')
                return svg_lp.meta_loss(cfg, th_, ph_, obs, self.noise[self.steps])
            self.meta_loss = svg_loss
        else:
            raise ValueError(f"unknown problem '{problem}': use mlp, video or svg")
        dev = self.device
        self.th = {k: v.float().to(dev).requires_grad_(True) for k, v in th.items()}
        self.ph = {k: v.float().to(dev).requires_grad_(True) for k, v in ph.items()}
        self.batches = [b.to(dev) for b in batches]
        self.opt_t = torch.optim.Adam(self.th.values(), lr=self.cfg['lrTheta'], betas=(0.9, 0.999), eps=1e-8)
        self.opt_p = torch.optim.Adam(self.ph.values(), lr=self.cfg['lrPhi'], betas=(0.9, 0.999), eps=1e-8)
        self.steps = 0

    def step(self):
        obs = self.batches[self.steps % len(self.batches)]
        t0 = time.perf_counter()
        c0 = time.process_time()  # CPU seconds of the process, all threads
        self.opt_t.zero_grad(set_to_none=True)
        self.opt_p.zero_grad(set_to_none=True)
        loss = self.meta_loss(self.th, self.ph, obs)
        loss.backward()
        # Global gradient norms, as core's metaStep reports them (before clipping).
        with torch.no_grad():
            gt = torch.sqrt(sum((p.grad ** 2).sum() for p in self.th.values()))
            gp = torch.sqrt(sum((p.grad ** 2).sum() for p in self.ph.values()))
            # metaStep's clipping: g · min(1, max / (‖g‖ + 1e-12)) per group.
            for group, norm, key in ((self.th, gt, 'clipTheta'), (self.ph, gp, 'clipPhi')):
                if self.cfg.get(key) is not None:
                    scale = torch.clamp(self.cfg[key] / (norm + 1e-12), max=1.0)
                    for p in group.values():
                        p.grad.mul_(scale)
        self.opt_t.step()
        self.opt_p.step()
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
        report = dict(step=self.steps + 1, loss=loss.item(), gradNormTheta=gt.item(), gradNormPhi=gp.item())
        ms = (time.perf_counter() - t0) * 1000
        cpu_ms = (time.process_time() - c0) * 1000
        self.steps += 1
        return ms, cpu_ms, report


def worker(device):
    runner = None
    for line in sys.stdin:
        if not line.strip():
            continue
        c = {}
        try:
            c = json.loads(line)
            cmd = c.get('cmd')
            if cmd == 'setup':
                runner = Runner(c['problem'], c.get('seed', 1), c.get('load'), device, c.get('overrides'))
                out = dict(backend=f'torch/{runner.device.type}', torch=torch.__version__, threads=torch.get_num_threads(),
                           params=dict(theta=sum(p.numel() for p in runner.th.values()),
                                       phi=sum(p.numel() for p in runner.ph.values())))
            elif cmd == 'run':
                times, cpu, report = [], [], None
                for _ in range(c['n']):
                    ms, cpu_ms, report = runner.step()
                    times.append(ms)
                    cpu.append(cpu_ms)
                out = dict(times=times, cpu=cpu, steps=runner.steps, report=report, rss=rss_bytes(), numTensors=None)
            elif cmd == 'quit':
                print(json.dumps(dict(ok=True, cmd=cmd, bye=True)), flush=True)
                return
            else:
                raise ValueError(f"unknown command '{cmd}'")
            print(json.dumps(dict(ok=True, cmd=cmd, **out)), flush=True)
        except Exception as e:  # reported to run.mjs, which stops with it
            import traceback
            print(json.dumps(dict(ok=False, cmd=c.get('cmd'), error=f'{e}\n{traceback.format_exc()}')), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--worker', action='store_true', help='line protocol on stdin/stdout (used by run.mjs)')
    ap.add_argument('--problem', choices=['mlp', 'video', 'svg'], default='mlp')
    ap.add_argument('--svg-horizon', type=int, help='svg: predicted frames (default 10, as problems.mjs)')
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=int(os.environ.get('TORCH_THREADS', '2')))
    ap.add_argument('--load', help="initial θ/φ/batches written by the tfjs worker ('dump')")
    ap.add_argument('--device', default=os.environ.get('TORCH_DEVICE', 'cpu'), help="'cpu' (default) or 'cuda' where a GPU exists")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.worker:
        worker(a.device)
        return
    r = Runner(a.problem, 1, a.load, a.device, {'horizon': a.svg_horizon} if a.svg_horizon else None)
    for _ in range(a.warmup):
        r.step()
    times = sorted(r.step()[0] for _ in range(a.steps))  # wall ms
    print(f'{a.problem}: median {times[len(times) // 2]:.1f} ms/step over {a.steps} steps '
          f'(torch {torch.__version__}, {a.device}, {torch.get_num_threads()} threads)')


if __name__ == '__main__':
    main()
