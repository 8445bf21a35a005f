"""Keras InceptionResNetV2 / InceptionV3 (include_top=False, pooling='avg') plus the
digiKam-style heads, described once as a Keras layer list, with healthy deterministic
test weights calibrated in float64 numpy on real photos.

The architecture functions mirror keras/applications/inception_resnet_v2.py and
inception_v3.py call for call (same branch order, same Keras auto names), so the layer
list, the Keras names and the parameter shapes come out as Keras would make them.

Weights (recipe of shared/reference/frozen-graph.md):
  * conv kernels: He-normal, zero-sum over (kh, kw, cin) per output channel, times a
    per-channel gain exp(0.7 N(0,1));
  * BN (scale=False): moving mean/var measured in float64 on the calibration photos
    (+5 % of std / ~10 % noise), rounded to 3 significant digits; beta ~ N(beta0, 0.2)
    (beta0 = 0 for irv2, 1.0 for v3); epsilon 0.001;
  * residual <block>_conv: gain chosen so std(up) ~ std(block input) (3 digits),
    bias ~ N(0, 0.1 std(block input));
  * heads: chosen from the pooled calibration features so that every calibration photo's
    top probability is in [0.45, 0.90] (3 classes) / [0.40, 0.90] (10 classes) with >= 3
    distinct argmax classes (see choose_softmax_layer(); v3 adds Dense(64, relu) first).

Determinism: every random number comes from numpy.random.default_rng in a fixed order,
and every number derived from a measurement is rounded to 3 significant digits, so the
file is bit-identical across machines. The measured numbers are cached ("cal" dict) so
another style of the same weights replays the draws without running the network.
"""

import numpy as np

EPS = 0.001
F32 = np.float32


def r3(x):
    """Rounds to 3 significant digits (via decimal strings: exact and machine-independent)."""
    a = np.asarray(x, dtype=np.float64)
    flat = [float("%.3g" % v) for v in a.reshape(-1)]
    return np.array(flat, dtype=np.float64).reshape(a.shape)


# ---- float64 NHWC reference ops used for calibration ----------------------------------------

def same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def window_view(xp, kh, kw, s, oh, ow):
    n, _, _, c = xp.shape
    sn, sh, sw, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, shape=(n, oh, ow, kh, kw, c), strides=(sn, sh * s, sw * s, sh, sw, sc), writeable=False)


def pad_for(x, kh, kw, s, padding):
    n, h, w, c = x.shape
    if padding == "SAME":
        oh, pt, pb = same_pads(h, kh, s)
        ow, pl, pr = same_pads(w, kw, s)
        if pt or pb or pl or pr:
            x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    else:
        oh = (h - kh) // s + 1
        ow = (w - kw) // s + 1
    return x, oh, ow


def conv2d(x, k, s, padding):
    """x NHWC float64, k HWIO -> NHWC float64 (im2col + matmul, chunked over the batch)."""
    kh, kw, ci, co = k.shape
    km = k.reshape(kh * kw * ci, co).astype(np.float64)
    xp, oh, ow = pad_for(x, kh, kw, s, padding)
    n = x.shape[0]
    if kh == 1 and kw == 1 and s == 1:
        return (xp.reshape(-1, ci) @ km).reshape(n, oh, ow, co)
    view = window_view(xp, kh, kw, s, oh, ow)
    out = np.empty((n, oh, ow, co))
    per_img = oh * ow * kh * kw * ci * 8
    step = max(1, int(256e6 // per_img))
    for i in range(0, n, step):
        cols = view[i:i + step].reshape(-1, kh * kw * ci)
        out[i:i + step] = (cols @ km).reshape(-1, oh, ow, co)
    return out


def maxpool(x, k, s, padding):
    if padding == "SAME":
        n, h, w, c = x.shape
        oh, pt, pb = same_pads(h, k, s)
        ow, pl, pr = same_pads(w, k, s)
        xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=-np.inf)
    else:
        xp, oh, ow = pad_for(x, k, k, s, padding)
    return window_view(np.ascontiguousarray(xp), k, k, s, oh, ow).max(axis=(3, 4))


def avgpool(x, k, s, padding):
    """TF AvgPool: SAME divides by the number of valid (unpadded) cells."""
    ones = np.ones((1,) + x.shape[1:3] + (1,))
    xp, oh, ow = pad_for(x, k, k, s, padding)
    op, _, _ = pad_for(ones, k, k, s, padding)
    tot = window_view(np.ascontiguousarray(xp), k, k, s, oh, ow).sum(axis=(3, 4))
    cnt = window_view(np.ascontiguousarray(op), k, k, s, oh, ow).sum(axis=(3, 4))
    return tot / cnt


# ---- builder ---------------------------------------------------------------------------------

class Tensor:
    __slots__ = ("layer", "val", "channels")

    def __init__(self, layer, val, channels):
        self.layer = layer
        self.val = val
        self.channels = channels


class Builder:
    """Records Keras layers in call order; draws and calibrates their weights.

    layers: list of dicts {kind, name, inputs: [layer names], ...config}
    params: layer-param name ("conv2d_3/kernel") -> float32 array
    cal:    measured (rounded) numbers; given -> replay (no numerics), None -> measure.
    """

    def __init__(self, rng, x=None, cal=None, beta0=0.0):
        self.rng = rng
        self.layers = []
        self.params = {}
        self.counters = {}
        self.replay = cal is not None
        self.cal = cal if cal is not None else {}
        self.beta0 = beta0
        self.x0 = x
        self.pending = {}
        self.std = []  # (layer name, activation std) for diagnostics

    # -- naming
    def uname(self, base):
        n = self.counters.get(base, 0)
        self.counters[base] = n + 1
        return base if n == 0 else "%s_%d" % (base, n)

    def add(self, kind, name, inputs, **cfg):
        rec = dict(kind=kind, name=name, inputs=[t.layer for t in inputs])
        rec.update(cfg)
        self.layers.append(rec)
        return rec

    def measuring(self):
        return not self.replay

    # -- layers
    def input(self, channels=3):
        self.add("input", "input", [])
        return Tensor("input", None if self.replay else self.x0, channels)

    def conv(self, x, filters, kh, kw, strides=1, padding="same", use_bias=False, name=None):
        name = name or self.uname("conv2d")
        pad = padding.upper()
        fan_in = kh * kw * x.channels
        k = self.rng.standard_normal((kh, kw, x.channels, filters)) * np.sqrt(2.0 / fan_in)
        k -= k.mean(axis=(0, 1, 2), keepdims=True)
        k *= np.exp(0.7 * self.rng.standard_normal(filters))
        self.add("conv", name, [x], filters=filters, kh=kh, kw=kw, stride=strides, padding=pad,
                 use_bias=use_bias)
        if use_bias:
            # Residual <block>_conv: gain and bias are settled by residual() once the
            # block input's std is known.
            self.pending[name] = (k, self.rng.standard_normal(filters), x)
            val = None if self.replay else conv2d(x.val, k.astype(F32), strides, pad)
        else:
            kf = k.astype(F32)
            self.params[name + "/kernel"] = kf
            val = None if self.replay else conv2d(x.val, kf, strides, pad)
        return Tensor(name, val, filters)

    def bn(self, x, name=None):
        name = name or self.uname("batch_normalization")
        c = x.channels
        beta = self.rng.normal(self.beta0, 0.2, c)
        n1 = self.rng.standard_normal(c)
        n2 = self.rng.standard_normal(c)
        if self.measuring():
            v = x.val
            m = v.mean(axis=(0, 1, 2))
            var = v.var(axis=(0, 1, 2))
            self.cal[name + "/mean"] = r3(m + 0.05 * np.sqrt(var) * n1)
            self.cal[name + "/var"] = r3(var * np.maximum(1.0 + 0.1 * n2, 0.7))
        p = {
            "gamma": np.ones(c, F32),
            "beta": beta.astype(F32),
            "moving_mean": self.cal[name + "/mean"].astype(F32),
            "moving_variance": self.cal[name + "/var"].astype(F32),
        }
        for k, a in p.items():
            self.params[name + "/" + k] = a
        self.add("bn", name, [x], channels=c)
        val = None
        if self.measuring():
            f = lambda a: a.astype(np.float64)
            val = (x.val - f(p["moving_mean"])) / np.sqrt(f(p["moving_variance"]) + float(F32(EPS))) \
                * f(p["gamma"]) + f(p["beta"])
        return Tensor(name, val, c)

    def relu(self, x, name=None):
        name = name or self.uname("activation")
        self.add("relu", name, [x])
        val = None
        if self.measuring():
            val = np.maximum(x.val, 0.0)
            self.std.append((name, float(val.std())))
        return Tensor(name, val, x.channels)

    def conv2d_bn(self, x, filters, kh, kw, strides=1, padding="same", activation="relu",
                  use_bias=False, name=None):
        """keras conv2d_bn: Conv2D(use_bias) [-> BN(scale=False) if no bias] [-> ReLU]."""
        x = self.conv(x, filters, kh, kw, strides, padding, use_bias, name)
        if not use_bias:
            x = self.bn(x, None if name is None else name + "_bn")
        if activation is not None:
            x = self.relu(x, None if name is None else name + "_ac")
        return x

    def maxpool(self, x, k, s, padding="valid"):
        name = self.uname("max_pooling2d")
        self.add("maxpool", name, [x], k=k, stride=s, padding=padding.upper())
        val = None if self.replay else maxpool(x.val, k, s, padding.upper())
        return Tensor(name, val, x.channels)

    def avgpool(self, x, k, s, padding="valid"):
        name = self.uname("average_pooling2d")
        self.add("avgpool", name, [x], k=k, stride=s, padding=padding.upper())
        val = None if self.replay else avgpool(x.val, k, s, padding.upper())
        return Tensor(name, val, x.channels)

    def concat(self, xs, name=None):
        name = name or self.uname("concatenate")
        self.add("concat", name, xs)
        val = None if self.replay else np.concatenate([t.val for t in xs], axis=3)
        return Tensor(name, val, sum(t.channels for t in xs))

    def residual(self, x, up, scale, name):
        """Keras Lambda inputs[0] + inputs[1] * scale; calibrates the pending <block>_conv."""
        k, nb, mixed = self.pending.pop(up.layer)
        if self.measuring():
            sx = float(x.val.std())
            self.cal[up.layer + "/gain"] = r3(sx / float(up.val.std()))
            self.cal[up.layer + "/bstd"] = r3(0.1 * sx)
        kf = (k * float(self.cal[up.layer + "/gain"])).astype(F32)
        bf = (nb * float(self.cal[up.layer + "/bstd"])).astype(F32)
        self.params[up.layer + "/kernel"] = kf
        self.params[up.layer + "/bias"] = bf
        self.add("residual", name, [x, up], scale=scale)
        val = None
        if self.measuring():
            upv = conv2d(mixed.val, kf, 1, "SAME") + bf.astype(np.float64)
            val = x.val + upv * float(F32(scale))
            self.std.append((name, float(val.std())))
        return Tensor(name, val, x.channels)

    def gap(self, x):
        name = self.uname("global_average_pooling2d")
        self.add("gap", name, [x])
        val = None if self.replay else x.val.mean(axis=(1, 2))
        return Tensor(name, val, x.channels)

    def dropout(self, x):
        name = self.uname("dropout")
        self.add("dropout", name, [x])
        return Tensor(name, x.val, x.channels)

    def dense(self, x, units, activation, kernel, bias):
        name = self.uname("dense")
        assert kernel.shape == (x.channels, units) and bias.shape == (units,)
        self.params[name + "/kernel"] = kernel.astype(F32)
        self.params[name + "/bias"] = bias.astype(F32)
        self.add("dense", name, [x], units=units, activation=activation)
        return Tensor(name, None, units)


# ---- architectures (call for call as in keras.applications) ---------------------------------

def irv2_block(b, x, scale, block_type, block_idx, activation="relu"):
    c = b.conv2d_bn
    if block_type == "block35":
        branch_0 = c(x, 32, 1, 1)
        branch_1 = c(x, 32, 1, 1)
        branch_1 = c(branch_1, 32, 3, 3)
        branch_2 = c(x, 32, 1, 1)
        branch_2 = c(branch_2, 48, 3, 3)
        branch_2 = c(branch_2, 64, 3, 3)
        branches = [branch_0, branch_1, branch_2]
    elif block_type == "block17":
        branch_0 = c(x, 192, 1, 1)
        branch_1 = c(x, 128, 1, 1)
        branch_1 = c(branch_1, 160, 1, 7)
        branch_1 = c(branch_1, 192, 7, 1)
        branches = [branch_0, branch_1]
    else:
        branch_0 = c(x, 192, 1, 1)
        branch_1 = c(x, 192, 1, 1)
        branch_1 = c(branch_1, 224, 1, 3)
        branch_1 = c(branch_1, 256, 3, 1)
        branches = [branch_0, branch_1]
    block_name = "%s_%d" % (block_type, block_idx)
    mixed = b.concat(branches, name=block_name + "_mixed")
    up = c(mixed, x.channels, 1, 1, activation=None, use_bias=True, name=block_name + "_conv")
    x = b.residual(x, up, scale, block_name)
    if activation is not None:
        x = b.relu(x, block_name + "_ac")
    return x


def irv2_trunk(b, x):
    c = b.conv2d_bn
    x = c(x, 32, 3, 3, strides=2, padding="valid")
    x = c(x, 32, 3, 3, padding="valid")
    x = c(x, 64, 3, 3)
    x = b.maxpool(x, 3, 2)
    x = c(x, 80, 1, 1, padding="valid")
    x = c(x, 192, 3, 3, padding="valid")
    x = b.maxpool(x, 3, 2)
    # mixed_5b
    branch_0 = c(x, 96, 1, 1)
    branch_1 = c(x, 48, 1, 1)
    branch_1 = c(branch_1, 64, 5, 5)
    branch_2 = c(x, 64, 1, 1)
    branch_2 = c(branch_2, 96, 3, 3)
    branch_2 = c(branch_2, 96, 3, 3)
    branch_pool = b.avgpool(x, 3, 1, padding="same")
    branch_pool = c(branch_pool, 64, 1, 1)
    x = b.concat([branch_0, branch_1, branch_2, branch_pool], name="mixed_5b")
    for i in range(1, 11):
        x = irv2_block(b, x, 0.17, "block35", i)
    # mixed_6a
    branch_0 = c(x, 384, 3, 3, strides=2, padding="valid")
    branch_1 = c(x, 256, 1, 1)
    branch_1 = c(branch_1, 256, 3, 3)
    branch_1 = c(branch_1, 384, 3, 3, strides=2, padding="valid")
    branch_pool = b.maxpool(x, 3, 2, padding="valid")
    x = b.concat([branch_0, branch_1, branch_pool], name="mixed_6a")
    for i in range(1, 21):
        x = irv2_block(b, x, 0.1, "block17", i)
    # mixed_7a
    branch_0 = c(x, 256, 1, 1)
    branch_0 = c(branch_0, 384, 3, 3, strides=2, padding="valid")
    branch_1 = c(x, 256, 1, 1)
    branch_1 = c(branch_1, 288, 3, 3, strides=2, padding="valid")
    branch_2 = c(x, 256, 1, 1)
    branch_2 = c(branch_2, 288, 3, 3)
    branch_2 = c(branch_2, 320, 3, 3, strides=2, padding="valid")
    branch_pool = b.maxpool(x, 3, 2, padding="valid")
    x = b.concat([branch_0, branch_1, branch_2, branch_pool], name="mixed_7a")
    for i in range(1, 10):
        x = irv2_block(b, x, 0.2, "block8", i)
    x = irv2_block(b, x, 1.0, "block8", 10, activation=None)
    x = c(x, 1536, 1, 1, name="conv_7b")
    return b.gap(x)


def v3_trunk(b, x):
    def c(t, f, rows, cols, padding="same", strides=1):
        return b.conv2d_bn(t, f, rows, cols, strides=strides, padding=padding)

    x = c(x, 32, 3, 3, strides=2, padding="valid")
    x = c(x, 32, 3, 3, padding="valid")
    x = c(x, 64, 3, 3)
    x = b.maxpool(x, 3, 2)
    x = c(x, 80, 1, 1, padding="valid")
    x = c(x, 192, 3, 3, padding="valid")
    x = b.maxpool(x, 3, 2)
    # mixed 0, 1, 2
    for i, pool_f in enumerate((32, 64, 64)):
        branch1x1 = c(x, 64, 1, 1)
        branch5x5 = c(x, 48, 1, 1)
        branch5x5 = c(branch5x5, 64, 5, 5)
        branch3x3dbl = c(x, 64, 1, 1)
        branch3x3dbl = c(branch3x3dbl, 96, 3, 3)
        branch3x3dbl = c(branch3x3dbl, 96, 3, 3)
        branch_pool = b.avgpool(x, 3, 1, padding="same")
        branch_pool = c(branch_pool, pool_f, 1, 1)
        x = b.concat([branch1x1, branch5x5, branch3x3dbl, branch_pool], name="mixed%d" % i)
    # mixed 3
    branch3x3 = c(x, 384, 3, 3, strides=2, padding="valid")
    branch3x3dbl = c(x, 64, 1, 1)
    branch3x3dbl = c(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = c(branch3x3dbl, 96, 3, 3, strides=2, padding="valid")
    branch_pool = b.maxpool(x, 3, 2)
    x = b.concat([branch3x3, branch3x3dbl, branch_pool], name="mixed3")
    # mixed 4, 5, 6, 7
    for i, f in ((4, 128), (5, 160), (6, 160), (7, 192)):
        branch1x1 = c(x, 192, 1, 1)
        branch7x7 = c(x, f, 1, 1)
        branch7x7 = c(branch7x7, f, 1, 7)
        branch7x7 = c(branch7x7, 192, 7, 1)
        branch7x7dbl = c(x, f, 1, 1)
        branch7x7dbl = c(branch7x7dbl, f, 7, 1)
        branch7x7dbl = c(branch7x7dbl, f, 1, 7)
        branch7x7dbl = c(branch7x7dbl, f, 7, 1)
        branch7x7dbl = c(branch7x7dbl, 192, 1, 7)
        branch_pool = b.avgpool(x, 3, 1, padding="same")
        branch_pool = c(branch_pool, 192, 1, 1)
        x = b.concat([branch1x1, branch7x7, branch7x7dbl, branch_pool], name="mixed%d" % i)
    # mixed 8
    branch3x3 = c(x, 192, 1, 1)
    branch3x3 = c(branch3x3, 320, 3, 3, strides=2, padding="valid")
    branch7x7x3 = c(x, 192, 1, 1)
    branch7x7x3 = c(branch7x7x3, 192, 1, 7)
    branch7x7x3 = c(branch7x7x3, 192, 7, 1)
    branch7x7x3 = c(branch7x7x3, 192, 3, 3, strides=2, padding="valid")
    branch_pool = b.maxpool(x, 3, 2)
    x = b.concat([branch3x3, branch7x7x3, branch_pool], name="mixed8")
    # mixed 9, 10
    for i in range(2):
        branch1x1 = c(x, 320, 1, 1)
        branch3x3 = c(x, 384, 1, 1)
        branch3x3_1 = c(branch3x3, 384, 1, 3)
        branch3x3_2 = c(branch3x3, 384, 3, 1)
        branch3x3 = b.concat([branch3x3_1, branch3x3_2], name="mixed9_%d" % i)
        branch3x3dbl = c(x, 448, 1, 1)
        branch3x3dbl = c(branch3x3dbl, 384, 3, 3)
        branch3x3dbl_1 = c(branch3x3dbl, 384, 1, 3)
        branch3x3dbl_2 = c(branch3x3dbl, 384, 3, 1)
        branch3x3dbl = b.concat([branch3x3dbl_1, branch3x3dbl_2])
        branch_pool = b.avgpool(x, 3, 1, padding="same")
        branch_pool = c(branch_pool, 192, 1, 1)
        x = b.concat([branch1x1, branch3x3, branch3x3dbl, branch_pool], name="mixed%d" % (9 + i))
    return b.gap(x)


TRUNKS = {"irv2": (irv2_trunk, 0.0), "v3": (v3_trunk, 1.0)}


# ---- heads -----------------------------------------------------------------------------------

def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def project_out(w, mu):
    """Makes every column of w orthogonal to mu (no BLAS: reproducible bit for bit)."""
    u = mu / np.sqrt((mu * mu).sum())
    return w - u[:, None] * (u[:, None] * w).sum(axis=0)[None, :]


def head_ok(p, classes):
    """p [..., photos, classes] -> [...] bool: every top-prob in [0.45, 0.90] (3 classes) or
    [0.40, 0.90] (10 classes), and at least 3 distinct argmax classes over the photos."""
    top = p.max(axis=-1)
    lo = 0.45 if classes <= 3 else 0.40
    ok = (top >= lo).all(axis=-1) & (top <= 0.90).all(axis=-1)
    am = p.argmax(axis=-1)
    distinct = np.array([len(set(row.tolist())) for row in am.reshape(-1, am.shape[-1])]).reshape(am.shape[:-1])
    return ok & (distinct >= 3)


def choose_softmax_layer(feats, classes, rng, draws=200):
    """Dense(classes, softmax) on features [N, C].

    Columns are random directions inside the span of the calibration photos' feature
    deviations, isotropic in that span (deviations whitened by their Gram matrix, which needs
    no sign convention), then made orthogonal to the mean feature. Among `draws` draws x 300
    temperatures (x bias amplitudes for 10 classes: a NIMA-like bell-shaped bias over the score
    bins) the draw whose range of valid temperatures is widest wins, at the middle of that
    range; valid = head_ok(). Plain random columns (orthogonal to the mean only) fitted to 8
    photos saturated on unseen photos (top-prob up to 0.999); directions drawn inside the
    calibration span keep unseen photos in a similar range."""
    n, c = feats.shape
    mu = feats.mean(axis=0)
    dev = feats - mu
    lam, u = np.linalg.eigh(dev @ dev.T)
    keep = lam > 1e-9 * lam.max()
    gp = (u[:, keep] / np.sqrt(lam[keep])) @ u[:, keep].T
    temps = np.logspace(-1.5, 1.5, 300)
    k = np.arange(classes, dtype=np.float64)
    centre = (classes - 1) / 2.0
    bell = -((k - centre) / max(centre, 1.0)) ** 2
    amps = (0.0,) if classes <= 3 else (0.0, 0.5, 1.0, 1.5, 2.0)
    best = None
    for d in range(draws):
        r = gp @ rng.standard_normal((n, classes))
        w = project_out((dev[:, :, None] * r[:, None, :]).sum(axis=0), mu)
        bias_noise = rng.normal(0.0, 0.1, classes)
        l0 = feats @ w
        s0 = 1.0 / l0.std()
        for amp in amps:
            bias = amp * bell + bias_noise
            z = temps[:, None, None] * (s0 * l0)[None] + bias[None, None, :]
            ok = head_ok(softmax(z), classes)
            # longest run of consecutive valid temperatures
            run, best_run, end = 0, 0, -1
            for i, v in enumerate(ok):
                run = run + 1 if v else 0
                if run > best_run:
                    best_run, end = run, i
            if best_run and (best is None or best_run > best[0]):
                mid = end - best_run // 2
                best = (best_run, w, float(r3(temps[mid] * s0)), bias)
    if best is None:
        raise RuntimeError("no dense head keeps the calibration photos in range")
    _, w, t, bias = best
    return (w * t).astype(F32), r3(bias).astype(F32)


def choose_head(arch, feats, classes, rng):
    """Returns [(units, activation, kernel, bias), ...] for the Dense layers of the head."""
    if arch == "irv2":
        k, b = choose_softmax_layer(feats, classes, rng)
        return [(classes, "softmax", k, b)]
    # v3: Dense(64, relu) with unit-std pre-activations (columns orthogonal to the mean
    # feature, positive bias so most units stay alive), then Dense(classes, softmax).
    mu = feats.mean(axis=0)
    w1 = project_out(rng.standard_normal((feats.shape[1], 64)), mu)
    h = feats @ w1
    w1 = (w1 * r3(1.0 / h.std(axis=0))[None, :]).astype(F32)
    b1 = rng.normal(0.5, 0.25, 64).astype(F32)
    h2 = np.maximum(feats @ w1.astype(np.float64) + b1.astype(np.float64), 0.0)
    k2, b2 = choose_softmax_layer(h2, classes, rng)
    return [(64, "relu", w1, b1), (classes, "softmax", k2, b2)]


def build(arch, rng, x=None, cal=None):
    """Runs the trunk: measures (x given, cal None) or replays (cal given).
    Returns (builder, pooled tensor)."""
    trunk, beta0 = TRUNKS[arch]
    b = Builder(rng, x=x, cal=cal, beta0=beta0)
    t = trunk(b, b.input())
    return b, t


def add_head(b, arch, pooled, head):
    t = b.dropout(pooled)
    for units, act, k, bias in head:
        t = b.dense(t, units, act, k, bias)
    return t


def forward_head(feats, head):
    h = feats
    for _, act, k, bias in head:
        h = h @ k.astype(np.float64) + bias.astype(np.float64)
        h = softmax(h) if act == "softmax" else np.maximum(h, 0.0)
    return h
