"""PyTorch twin of bench/meta-step's `svg` problem: SVG-LP (Denton & Fergus 2018) as
@noether/predictors-svg builds it (packages/predictors-svg/src/{networks,svg}.ts, core's nn/lstm.ts
and nn/norm.ts), with the CNN embedding of @noether/embeddings-cnn, and the meta-loss of core's
metaStep: teacher-forced rollout, one differentiable inner SGD step on the conditional-norm γ/β
(mode 'cn') on the Noether loss form 2(b), task loss + β·KL of the tailored rollout. NCHW.

Imported by meta_step.py (which sets the thread environment before torch loads). Keep in step with
bench/meta-step/problems.mjs (SVG) and the package sources.
"""
import math

import torch
import torch.nn.functional as F

# Defaults of bench/meta-step/problems.mjs' SVG; a tfjs dump carries the config actually used.
SVG = dict(batch=4, context=2, horizon=10, size=64, channels=3, gDim=128, zDim=10, rnnSize=256, predictorLayers=2,
           priorLayers=1, posteriorLayers=1, beta=1e-4, embDim=64, innerLr=1e-4, lrTheta=1e-4, lrPhi=1e-4,
           clipPhi=1000, batches=2)
NORM_EPS = 1e-5


def conv_layers(cfg):
    """networks.ts' ConvNet for arch 'dcgan' with its default widths (64·2^min(i, 3)): encoder blocks,
    enc/out, dec/in, decoder blocks (deepest first). (name, transpose, k, stride, pad, in, out, act, norm);
    tfjs 'same' with k 4 / stride 2 = PyTorch padding 1, 'valid' = 0."""
    n = int(round(math.log2(cfg['size'] / 4)))
    w = [64 * 2 ** min(i, 3) for i in range(n)]
    nc, g = cfg['channels'], cfg['gDim']
    enc = [(f'enc/b{i}', False, 4, 2, 1, w[i - 1] if i else nc, w[i], 'lrelu', True) for i in range(n)]
    enc_out = ('enc/out', False, 4, 1, 0, w[-1], g, 'tanh', True)
    dec_in = ('dec/in', True, 4, 1, 0, g, w[-1], 'lrelu', True)
    dec = []
    for i in range(n - 1, -1, -1):
        dec.append((f'dec/b{i}', True, 4, 2, 1, 2 * w[i], w[i - 1], 'lrelu', True) if i > 0
                   else ('dec/out', True, 4, 2, 1, 2 * w[0], nc, 'sigmoid', False))
    return enc, enc_out, dec_in, dec


def apply_layer(layer, p, x):
    name, transpose, _, stride, pad, _, _, act, norm = layer
    conv = F.conv_transpose2d if transpose else F.conv2d
    y = conv(x, p[f'{name}/w'], p.get(f'{name}/b'), stride=stride, padding=pad)
    if norm:
        # norm 'group' = GroupNorm(1, C) (biased variance, eps 1e-5), then CN x·γ + β per example.
        y = F.group_norm(y, 1, p[f'{name}/norm/scale'], p[f'{name}/norm/offset'], eps=NORM_EPS)
        g, b = p.get(f'cn/{name}/gamma'), p.get(f'cn/{name}/beta')
        if g is not None:
            y = y * g[:, :, None, None] + b[:, :, None, None]
    if act == 'lrelu':
        return F.leaky_relu(y, 0.2)
    return torch.tanh(y) if act == 'tanh' else torch.sigmoid(y)


def encode(net, cfg, p, x):
    enc, enc_out, _, _ = net
    skips, h = [], x
    for layer in enc:
        h = apply_layer(layer, p, h)
        skips.append(h)
    h = apply_layer(enc_out, p, h)
    return h.reshape(x.shape[0], cfg['gDim']), skips


def decode(net, cfg, p, code, skips):
    _, _, dec_in, dec = net
    d = apply_layer(dec_in, p, code.reshape(code.shape[0], cfg['gDim'], 1, 1))
    n = len(skips)
    for k, layer in enumerate(dec):
        d = apply_layer(layer, p, torch.cat([d, skips[n - 1 - k]], 1))
    return d


# LSTMs (core's nn/lstm.ts): embed (dense), cells l{i} with wx [in, 4H], wh [H, 4H], b [4H], gates
# i, f, g, o in that order; read-out dense (+ tanh) or the Gaussian heads mu / logvar.

def lstm_cell(p, name, x, h, c):
    gates = (x @ p[f'{name}/wx'] + h @ p[f'{name}/wh']) + p[f'{name}/b']
    i, f, g, o = gates.chunk(4, 1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c2), c2


def run_cells(p, prefix, x, state):
    inp = x @ p[f'{prefix}/embed/w'] + p[f'{prefix}/embed/b']
    hs, cs = [], []
    for i, (h, c) in enumerate(zip(*state)):
        h2, c2 = lstm_cell(p, f'{prefix}/l{i}', inp, h, c)
        hs.append(h2)
        cs.append(c2)
        inp = h2
    return inp, (hs, cs)


def lstm(p, prefix, x, state):
    top, st = run_cells(p, prefix, x, state)
    return torch.tanh(top @ p[f'{prefix}/out/w'] + p[f'{prefix}/out/b']), st


def gaussian_lstm(p, prefix, x, state, eps):
    top, st = run_cells(p, prefix, x, state)
    mu = top @ p[f'{prefix}/mu/w'] + p[f'{prefix}/mu/b']
    logvar = top @ p[f'{prefix}/logvar/w'] + p[f'{prefix}/logvar/b']
    z = mu + eps * torch.exp(logvar * 0.5) if eps is not None else mu
    return z, mu, logvar, st


def gaussian_kl(mu1, lv1, mu2, lv2):
    term = ((lv2 - lv1) * 0.5 + (torch.exp(lv1) + (mu1 - mu2) ** 2) / (torch.exp(lv2) * 2)) - 0.5
    return term.sum(-1)


def zero_state(layers, hidden, like):
    z = lambda: like.new_zeros(like.shape[0], hidden)  # noqa: E731
    return ([z() for _ in range(layers)], [z() for _ in range(layers)])


def advance(cfg, p, latent, gauss, h, h_target, eps):
    """svg.ts' SvgPredictor.advance: prior z (or, given the target code, posterior z and the KL)."""
    z, pmu, plv, prior_st = gaussian_lstm(p, 'prior', h, gauss['prior'], None if h_target is not None else eps)
    kl, post_st = None, gauss['post']
    if h_target is not None:
        z, qmu, qlv, post_st = gaussian_lstm(p, 'post', h_target, gauss['post'], eps)
        kl = gaussian_kl(qmu, qlv, pmu, plv)
    code, latent2 = lstm(p, 'fp', torch.cat([h, z], 1), latent)
    return code, kl, latent2, dict(prior=prior_st, post=post_st)


def init_state(net, cfg, p, context):
    """context: the last contextLength frames [B, C, H, W]. The posterior uses its mean (no noise)."""
    H, x = cfg['rnnSize'], context[0]
    latent = zero_state(cfg['predictorLayers'], H, x)
    gauss = dict(prior=zero_state(cfg['priorLayers'], H, x), post=zero_state(cfg['posteriorLayers'], H, x))
    enc = [encode(net, cfg, p, x) for x in context]
    for i in range(1, len(context)):
        _, _, latent, gauss = advance(cfg, p, latent, gauss, enc[i - 1][0], enc[i][0], None)
    return dict(latent=latent, gauss=gauss, input=context[-1], h=enc[-1][0], skip=enc[-1][1])


def rollout(net, cfg, p, context, targets, eps):
    """Teacher forcing: step t uses the codes of the ground-truth x_{t−1} (carried from the step
    before, as SvgPredictor does) and x_t (posterior), decodes x̃_t with the skips of the last context
    frame; aux = Σ_t β·mean_b KL_t."""
    s = init_state(net, cfg, p, context)
    preds, aux = [], []
    for t, target in enumerate(targets):
        h_t = encode(net, cfg, p, target)[0]
        code, kl, latent, gauss = advance(cfg, p, s['latent'], s['gauss'], s['h'], h_t, eps[t])
        x = decode(net, cfg, p, code, s['skip'])
        preds.append(x)
        aux.append(kl.mean() * cfg['beta'])
        s = dict(latent=latent, gauss=gauss, input=target, h=h_t, skip=s['skip'])
    return preds, sum(aux)


def cnn_g(ph, a, b):
    """@noether/embeddings-cnn: frame pair on channels, Conv5×5(32)-ReLU-MaxPool2, Conv5×5(64)-ReLU-MaxPool2, FC."""
    x = torch.cat([a, b], 1)
    h = F.max_pool2d(F.relu(F.conv2d(x, ph['conv1/w'], ph['conv1/b'], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, ph['conv2/w'], ph['conv2/b'], padding=2)), 2)
    return h.flatten(1) @ ph['fc/w'] + ph['fc/b']


def meta_loss(cfg, th, ph, obs, eps):
    """obs [B, C+T, ch, H, W]; eps [T, B, z] (the step's posterior noise)."""
    net = conv_layers(cfg)
    C, T, B = cfg['context'], cfg['horizon'], obs.shape[0]
    frames = [obs[:, i] for i in range(C + T)]
    context, targets = frames[:C], frames[C:C + T]
    cn = {}
    for name, *_, out, _act, norm in [*net[0], net[1], net[2], *net[3]]:
        if norm:
            cn[f'cn/{name}/gamma'] = obs.new_ones(B, out).requires_grad_(True)
            cn[f'cn/{name}/beta'] = obs.new_zeros(B, out).requires_grad_(True)
    names = list(cn.keys())

    def run(v):
        return rollout(net, cfg, {**th, **v}, context, targets, eps)
    # Inner: Noether loss 2(b), Σ_t ‖g(x̃_{t−1}) − g(x̃_t)‖² with e_0 = g(last two context frames), batch mean.
    preds, _ = run(cn)
    seq = context[-2:] + preds
    e = [cnn_g(ph, seq[i], seq[i + 1]) for i in range(len(seq) - 1)]
    inner = sum(((e[t - 1] - e[t]) ** 2).sum(-1) for t in range(1, len(e))).mean()
    grads = torch.autograd.grad(inner, [cn[n] for n in names], create_graph=True)
    cn2 = {n: cn[n] - cfg['innerLr'] * g for n, g in zip(names, grads)}
    preds2, aux = run(cn2)
    return sum(((p - y) ** 2).mean() for p, y in zip(preds2, targets)) + aux


def from_tfjs(payload, decode_tensor):
    """tfjs layouts → PyTorch's: conv [kh, kw, in, out] and conv-transpose [kh, kw, out, in] both
    permute (3, 2, 0, 1) (to [out, in, kh, kw] and ConvTranspose2d's [in, out, kh, kw]); dense and
    LSTM weights stay [in, out]; the embedding's fc/w rows go from (H, W, C) to (C, H, W) order;
    frames NHWC → NCHW; the noise stays [steps, T, B, z]."""
    cfg = {**SVG, **payload['config']}
    th, ph = {}, {}
    for k, t in payload['theta'].items():
        v = decode_tensor(t)
        th[k] = v.permute(3, 2, 0, 1).contiguous() if v.dim() == 4 else v
    s = cfg['size'] // 4
    for k, t in payload['phi'].items():
        v = decode_tensor(t)
        if v.dim() == 4:
            v = v.permute(3, 2, 0, 1).contiguous()
        elif k == 'fc/w':
            v = v.reshape(s, s, 64, -1).permute(2, 0, 1, 3).reshape(s * s * 64, -1).contiguous()
        ph[k] = v
    batches = [decode_tensor(b).permute(0, 1, 4, 2, 3).contiguous() for b in payload['batches']]
    noise = decode_tensor(payload['noise'])
    return cfg, th, ph, batches, noise


def init_svg(cfg, g, fp_extra, gaussian=True):
    """SVG's θ as svg.ts' init: conv/dense N(0, 0.02) weights and zero biases; GroupNorm scales 1 (the
    Noether code's fresh GroupNorm); LSTM cells PyTorch's LSTMCell default U(±1/√H) for weights and
    both biases (one bias here = bias_ih + bias_hh), the frame predictor's bias_ih forget slice set
    to 1; the frame predictor reads [h, fp_extra more inputs] (z, or an action); with the prior and
    posterior LSTMs when gaussian. Draws from the generator g in a fixed order."""
    def normal(*shape, std=0.02, mean=0.0):
        return torch.randn(*shape, generator=g) * std + mean
    th = {}
    enc, enc_out, dec_in, dec = conv_layers(cfg)
    for name, transpose, k, _, _, cin, cout, _, norm in [*enc, enc_out, dec_in, *dec]:
        th[f'{name}/w'] = normal(cin, cout, k, k) if transpose else normal(cout, cin, k, k)
        th[f'{name}/b'] = torch.zeros(cout)
        if norm:
            th[f'{name}/norm/scale'] = torch.ones(cout)  # norm 'group' (the bench's)
            th[f'{name}/norm/offset'] = torch.zeros(cout)
    H = cfg['rnnSize']

    def dense(prefix, i, o):
        th[f'{prefix}/w'], th[f'{prefix}/b'] = normal(i, o), torch.zeros(o)

    def uniform(*shape):
        return (torch.rand(*shape, generator=g) * 2 - 1) / math.sqrt(H)

    def cells(prefix, layers, forget_bias=None):
        for i in range(layers):
            th[f'{prefix}/l{i}/wx'], th[f'{prefix}/l{i}/wh'] = uniform(H, 4 * H), uniform(H, 4 * H)
            b_ih, b_hh = uniform(4 * H), uniform(4 * H)
            if forget_bias is not None:
                b_ih[H:2 * H] = forget_bias
            th[f'{prefix}/l{i}/b'] = b_ih + b_hh
    dense('fp/embed', cfg['gDim'] + fp_extra, H)
    cells('fp', cfg['predictorLayers'], forget_bias=1.0)
    dense('fp/out', H, cfg['gDim'])
    if gaussian:
        for prefix, layers in (('prior', cfg['priorLayers']), ('post', cfg['posteriorLayers'])):
            dense(f'{prefix}/embed', cfg['gDim'], H)
            cells(prefix, layers)
            dense(f'{prefix}/mu', H, cfg['zDim'])
            dense(f'{prefix}/logvar', H, cfg['zDim'])
    return th


def init_cnn_embedding(cfg, g, filters=(32, 64)):
    """@noether/embeddings-cnn's φ: PyTorch-default U(±1/√fan_in)."""
    def fan_in(shape, fan):
        lim = 1 / math.sqrt(fan)
        return (torch.rand(*shape, generator=g) * 2 - 1) * lim
    Ch, S, D = cfg['channels'], cfg['size'], cfg['embDim']
    f1, f2 = filters
    flat = (S // 4) * (S // 4) * f2
    return {'conv1/w': fan_in((f1, 2 * Ch, 5, 5), 50 * Ch), 'conv1/b': fan_in((f1,), 50 * Ch),
            'conv2/w': fan_in((f2, f1, 5, 5), 25 * f1), 'conv2/b': fan_in((f2,), 25 * f1),
            'fc/w': fan_in((flat, D), flat), 'fc/b': fan_in((D,), flat)}


def init(cfg, seed, steps=1024):
    """A standalone start (no tfjs dump): SVG-LP's θ, the CNN embedding's φ, random batches and noise."""
    g = torch.Generator().manual_seed(seed)
    th = init_svg(cfg, g, cfg['zDim'])
    ph = init_cnn_embedding(cfg, g)
    Ch, S = cfg['channels'], cfg['size']
    B, L = cfg['batch'], cfg['context'] + cfg['horizon']
    batches = [torch.rand(B, L, Ch, S, S, generator=g) for _ in range(cfg['batches'])]
    noise = torch.randn(steps, cfg['horizon'], B, cfg['zDim'], generator=g)
    return cfg, th, ph, batches, noise
