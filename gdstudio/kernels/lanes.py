"""Sixteen float32 lanes for the Numba CPU kernels: SIMD arithmetic whose every result the source fixes.

Why this exists: the kernels once let LLVM reassociate floating-point sums and contract multiply-adds
(``fastmath={"reassoc", "contract", "nsz"}``) so that it could vectorise them. Then each compiled copy of a function
may sum and fuse in its own order (measured: reassociation and contraction together; either alone did not change
the bits of the issue's run), and Numba compiles more
than one copy: a helper is compiled on its own and again inside every kernel that calls it (re-optimised there),
and a ``prange`` body likewise. Which copy a call reaches depends on what the process loaded first (a fresh compile
binds the helper's own copy, a kernel loaded from the on-disk cache its inlined one), so a run that compiled its
kernels and a run that loaded them from the cache trained different bits. Without reassociation every copy must
compute exactly what the source says; these lanes give the speed back by saying explicitly what is computed in
parallel: each lane holds its own running sum, and :func:`total` adds the lanes in one fixed order.

The values are LLVM ``<16 x float>`` vectors (one AVX-512 register, two AVX2 ones). Nothing here is reordered by
the compiler: ``fma`` rounds once where the CPU has the instruction (else it multiplies and adds, rounding twice:
a different but equally fixed result on such a machine; the choice is part of Numba's cache key through the CPU
features). Use them only inside ``@njit`` code:

- ``zeros()``, ``splat(x)``; ``load(a, i)`` reads ``a[i:i + 16]`` of a contiguous 1-D float32 or uint8 array
  (uint8 widened exactly), ``store(a, i, v)`` writes float32; ``load_at(a, r, i)`` and ``store_at(a, r, i, v)`` do
  the same on row ``r`` of a contiguous 2-D array without making a view of the row (a view costs a reference count
  update, a call, each time); the caller keeps ``i + 16`` within the row;
- ``a + b``, ``a - b``, ``a * b``, ``fma(a, b, c)`` = a·b + c;
- ``total(v)``: the lanes' sum as (0+8) (1+9) …, then halves again, a fixed tree; ``largest(v)``: their maximum;
- ``first_lanes(n, a, b)``: lanes ``< n`` from ``a``, the others from ``b``; ``lane_is(k, a, b)``: lane ``k`` from
  ``a``, the others from ``b``; ``where_positive(v, a, b)``: ``a`` where ``v > 0``, else ``b``;
- ``first_index(v, x)``: the first lane equal to ``x`` (``WIDTH`` if none);
- ``load_first(a, i, n)``, ``store_first(a, i, n, v)``, and ``load_first_at(a, r, i, n)``, ``store_first_at(a, r,
  i, n, v)`` on row ``r`` of a 2-D one: only lanes ``< n`` of a float32 array (the others read as 0, or left
  alone), for the end of a row or of rows that belong to another task;
- ``exp(v)``: e^v lane by lane for v ≤ 88 (Cephes' single-precision polynomial, about 1 ulp; −inf gives 0,
  NaN stays NaN); ``log(v)``: ln v for normal v > 0 (Cephes; +inf and NaN stay).
"""

from __future__ import annotations

import operator
import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

WIDTH = 16
"""Lanes per vector: 16 float32 = 512 bits."""

_FLOAT = ir.FloatType()
_VECTOR = ir.VectorType(_FLOAT, WIDTH)
_INT_VECTOR = ir.VectorType(ir.IntType(32), WIDTH)


class LanesType(types.Type):
    """Numba type of a vector of ``WIDTH`` float32 lanes."""

    def __init__(self):
        super().__init__(name=f"Lanes{WIDTH}xf32")


lanes_type = LanesType()


@register_model(LanesType)
class _LanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VECTOR)


def _native_fma() -> bool:
    """Whether the CPU that Numba compiles for has a fused multiply-add (else LLVM would call a slow libm fmaf)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return True  # AArch64 and POWER always have it
    from numba.core import config as numba_config

    features = numba_config.CPU_FEATURES
    if features is None:
        import llvmlite.binding as llvm

        features = llvm.get_host_cpu_features().flatten()
    return "+fma" in features.split(",")


def _constant(value: float) -> ir.Constant:
    return ir.Constant(_VECTOR, [value] * WIDTH)


def _intrinsic_call(builder, name: str, args, vector=_VECTOR):
    fnty = ir.FunctionType(vector, [arg.type for arg in args])
    return builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), args)


def _splat(builder, scalar):
    first = builder.insert_element(ir.Constant(_VECTOR, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, ir.Constant(_VECTOR, ir.Undefined), ir.Constant(_INT_VECTOR, [0] * WIDTH))


def _is_lanes(*values) -> bool:
    return all(isinstance(v, LanesType) for v in values)


@intrinsic
def zeros(typingctx):
    """A vector of zeros."""
    def codegen(context, builder, sig, args):
        return _constant(0.0)
    return lanes_type(), codegen


@intrinsic
def splat(typingctx, x):
    """``x`` (converted to float32) in every lane."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return _splat(builder, context.cast(builder, args[0], sig.args[0], types.float32))
    return lanes_type(x), codegen


def _element_pointer(context, builder, array_type, array, index, index_type):
    data = context.make_array(array_type)(context, builder, value=array).data
    return builder.gep(data, [context.cast(builder, index, index_type, types.intp)])


def _contiguous_1d(array, dtypes) -> bool:
    return isinstance(array, types.Array) and array.ndim == 1 and array.layout == "C" and array.dtype in dtypes


@intrinsic
def load(typingctx, array, index):
    """``array[index:index + 16]`` as lanes: a contiguous 1-D float32 array, or uint8 widened exactly."""
    if not (_contiguous_1d(array, (types.float32, types.uint8)) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        array_type, index_type = sig.args
        pointer = _element_pointer(context, builder, array_type, args[0], args[1], index_type)
        return _load_from(builder, pointer, array_type.dtype)
    return lanes_type(array, index), codegen


@intrinsic
def store(typingctx, array, index, value):
    """``array[index:index + 16] = value`` for a contiguous 1-D float32 array."""
    if not (_contiguous_1d(array, (types.float32,)) and isinstance(index, types.Integer) and _is_lanes(value)):
        return None

    def codegen(context, builder, sig, args):
        array_type, index_type, _ = sig.args
        pointer = _element_pointer(context, builder, array_type, args[0], args[1], index_type)
        builder.store(args[2], builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)
        return context.get_dummy_value()
    return types.none(array, index, value), codegen


def _row_pointer(context, builder, array_type, array, row, row_type, index, index_type):
    ary = context.make_array(array_type)(context, builder, value=array)
    width = cgutils.unpack_tuple(builder, ary.shape, 2)[1]
    at = builder.add(builder.mul(context.cast(builder, row, row_type, types.intp), width),
                     context.cast(builder, index, index_type, types.intp))
    return builder.gep(ary.data, [at])


def _contiguous_2d(array, dtypes) -> bool:
    return isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C" and array.dtype in dtypes


def _load_from(builder, pointer, dtype):
    if dtype == types.uint8:
        packed = ir.VectorType(ir.IntType(8), WIDTH)
        return builder.uitofp(builder.load(builder.bitcast(pointer, packed.as_pointer()), align=1), _VECTOR)
    return builder.load(builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)


@intrinsic
def load_at(typingctx, array, row, index):
    """``array[row, index:index + 16]`` as lanes: a contiguous 2-D float32 array, or uint8 widened exactly."""
    if not (_contiguous_2d(array, (types.float32, types.uint8)) and isinstance(row, types.Integer)
            and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        array_type, row_type, index_type = sig.args
        pointer = _row_pointer(context, builder, array_type, args[0], args[1], row_type, args[2], index_type)
        return _load_from(builder, pointer, array_type.dtype)
    return lanes_type(array, row, index), codegen


@intrinsic
def store_at(typingctx, array, row, index, value):
    """``array[row, index:index + 16] = value`` for a contiguous 2-D float32 array."""
    if not (_contiguous_2d(array, (types.float32,)) and isinstance(row, types.Integer)
            and isinstance(index, types.Integer) and _is_lanes(value)):
        return None

    def codegen(context, builder, sig, args):
        array_type, row_type, index_type, _ = sig.args
        pointer = _row_pointer(context, builder, array_type, args[0], args[1], row_type, args[2], index_type)
        builder.store(args[3], builder.bitcast(pointer, _VECTOR.as_pointer()), align=4)
        return context.get_dummy_value()
    return types.none(array, row, index, value), codegen


NATIVE_FMA = _native_fma()


@intrinsic
def fma(typingctx, a, b, c):
    """``a·b + c`` lane by lane, rounded once (twice on a CPU without fused multiply-add)."""
    if not _is_lanes(a, b, c):
        return None

    def codegen(context, builder, sig, args):
        if NATIVE_FMA:
            return _intrinsic_call(builder, f"llvm.fma.v{WIDTH}f32", args)
        return builder.fadd(builder.fmul(args[0], args[1]), args[2])
    return lanes_type(a, b, c), codegen


def _binary(build):
    @intrinsic
    def operation(typingctx, a, b):
        if not _is_lanes(a, b):
            return None

        def codegen(context, builder, sig, args):
            return build(builder, *args)
        return lanes_type(a, b), codegen
    return operation


_add = _binary(lambda builder, a, b: builder.fadd(a, b))
_sub = _binary(lambda builder, a, b: builder.fsub(a, b))
_mul = _binary(lambda builder, a, b: builder.fmul(a, b))


@overload(operator.add, inline="always")
def _overload_add(a, b):
    if _is_lanes(a, b):
        return lambda a, b: _add(a, b)


@overload(operator.sub, inline="always")
def _overload_sub(a, b):
    if _is_lanes(a, b):
        return lambda a, b: _sub(a, b)


@overload(operator.mul, inline="always")
def _overload_mul(a, b):
    if _is_lanes(a, b):
        return lambda a, b: _mul(a, b)


def _halves(builder, vector, n):
    low = builder.shuffle_vector(vector, vector, ir.Constant(ir.VectorType(ir.IntType(32), n), list(range(n))))
    high = builder.shuffle_vector(vector, vector,
                                  ir.Constant(ir.VectorType(ir.IntType(32), n), list(range(n, 2 * n))))
    return low, high


def _tree(builder, vector, combine):
    n = WIDTH
    while n > 1:
        n //= 2
        vector = combine(builder, *_halves(builder, vector, n))
    return builder.extract_element(vector, ir.Constant(ir.IntType(32), 0))


def _larger(builder, a, b):
    return builder.select(builder.fcmp_ordered(">", b, a), b, a)


@intrinsic
def total(typingctx, v):
    """The sum of the lanes, always in the same order: lane k + lane k + 8, then halves again (a fixed tree)."""
    if not _is_lanes(v):
        return None

    def codegen(context, builder, sig, args):
        return _tree(builder, args[0], lambda builder, a, b: builder.fadd(a, b))
    return types.float32(v), codegen


@intrinsic
def largest(typingctx, v):
    """The largest lane (a NaN lane is passed over unless it is lane 0)."""
    if not _is_lanes(v):
        return None

    def codegen(context, builder, sig, args):
        return _tree(builder, args[0], _larger)
    return types.float32(v), codegen


@intrinsic
def first_lanes(typingctx, n, a, b):
    """Lanes ``0 … n − 1`` of ``a`` and the rest of ``b``."""
    if not (isinstance(n, types.Integer) and _is_lanes(a, b)):
        return None

    def codegen(context, builder, sig, args):
        count = context.cast(builder, args[0], sig.args[0], types.int32)
        inside = builder.icmp_signed("<", ir.Constant(_INT_VECTOR, list(range(WIDTH))), _splat_int(builder, count))
        return builder.select(inside, args[1], args[2])
    return lanes_type(n, a, b), codegen


@intrinsic
def lane_is(typingctx, k, a, b):
    """Lane ``k`` of ``a`` and the others of ``b``."""
    if not (isinstance(k, types.Integer) and _is_lanes(a, b)):
        return None

    def codegen(context, builder, sig, args):
        index = context.cast(builder, args[0], sig.args[0], types.int32)
        chosen = builder.icmp_signed("==", ir.Constant(_INT_VECTOR, list(range(WIDTH))), _splat_int(builder, index))
        return builder.select(chosen, args[1], args[2])
    return lanes_type(k, a, b), codegen


@intrinsic
def where_positive(typingctx, v, a, b):
    """``a`` in the lanes where ``v > 0``, ``b`` in the others (NaN lanes too)."""
    if not _is_lanes(v, a, b):
        return None

    def codegen(context, builder, sig, args):
        return builder.select(builder.fcmp_ordered(">", args[0], _constant(0.0)), args[1], args[2])
    return lanes_type(v, a, b), codegen


@intrinsic
def first_index(typingctx, v, x):
    """The first lane of ``v`` equal to ``x`` (``WIDTH`` when none is, as for a NaN ``x``)."""
    if not (_is_lanes(v) and isinstance(x, types.Float)):
        return None

    def codegen(context, builder, sig, args):
        value = context.cast(builder, args[1], sig.args[1], types.float32)
        equal = builder.fcmp_ordered("==", args[0], _splat(builder, value))
        bits = builder.bitcast(equal, ir.IntType(WIDTH))
        cttz = cgutils.get_or_insert_function(builder.module, ir.FunctionType(bits.type, [bits.type, ir.IntType(1)]),
                                             f"llvm.cttz.i{WIDTH}")
        index = builder.call(cttz, [bits, ir.Constant(ir.IntType(1), 0)])  # WIDTH when no bit is set
        return builder.zext(index, ir.IntType(64))
    return types.int64(v, x), codegen


def _splat_int(builder, scalar):
    first = builder.insert_element(ir.Constant(_INT_VECTOR, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, ir.Constant(_INT_VECTOR, ir.Undefined),
                                  ir.Constant(_INT_VECTOR, [0] * WIDTH))


# Cephes expf: e^x = 2^n · e^r with n = round(x·log2 e) and |r| ≤ ln 2 / 2, r computed in two parts of ln 2 so that
# it stays exact, e^r from a degree-6 polynomial.
_EXP_HIGH = 88.0  # above it the result is e^88 (2^n must stay a normal float32); the kernels need x ≤ 0
_EXP_LOW = -87.3365447505531  # below it e^x is under the smallest normal float32: the result is 0
_LOG2E = 1.44269504088896341
_LN2_HIGH = 0.693359375
_LN2_LOW = -2.12194440e-4
_EXP_POLY = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)


@intrinsic
def exp(typingctx, v):
    """``e^v`` lane by lane (about 1 ulp; 0 below −87.3, e^88 above 88, NaN stays NaN)."""
    if not _is_lanes(v):
        return None

    def codegen(context, builder, sig, args):
        x = args[0]
        underflow = builder.fcmp_ordered("<", x, _constant(_EXP_LOW))  # false for NaN, which then stays NaN
        x = builder.select(builder.fcmp_ordered(">", x, _constant(_EXP_HIGH)), _constant(_EXP_HIGH), x)
        x = builder.select(underflow, _constant(0.0), x)
        n = _intrinsic_call(builder, f"llvm.floor.v{WIDTH}f32",
                            [builder.fadd(builder.fmul(x, _constant(_LOG2E)), _constant(0.5))])
        r = builder.fsub(x, builder.fmul(n, _constant(_LN2_HIGH)))
        r = builder.fsub(r, builder.fmul(n, _constant(_LN2_LOW)))
        p = _constant(_EXP_POLY[0])
        for coefficient in _EXP_POLY[1:]:
            p = builder.fadd(builder.fmul(p, r), _constant(coefficient))
        p = builder.fadd(builder.fadd(builder.fmul(p, builder.fmul(r, r)), r), _constant(1.0))
        # the saturating conversion is defined for NaN (0); a plain fptosi of NaN would be LLVM poison
        whole = _intrinsic_call(builder, f"llvm.fptosi.sat.v{WIDTH}i32.v{WIDTH}f32", [n], _INT_VECTOR)
        exponent = builder.shl(builder.add(whole, ir.Constant(_INT_VECTOR, [127] * WIDTH)),
                               ir.Constant(_INT_VECTOR, [23] * WIDTH))
        result = builder.fmul(p, builder.bitcast(exponent, _VECTOR))
        return builder.select(underflow, _constant(0.0), result)
    return lanes_type(v), codegen


def _lane_mask(builder, context, count, count_type):
    n = context.cast(builder, count, count_type, types.int32)
    return builder.icmp_signed("<", ir.Constant(_INT_VECTOR, list(range(WIDTH))), _splat_int(builder, n))


@intrinsic
def load_first(typingctx, array, index, n):
    """Lanes ``< n`` of ``array[index:index + 16]`` (a contiguous 1-D float32 array), the others 0; nothing past
    them is read."""
    if not (_contiguous_1d(array, (types.float32,)) and isinstance(index, types.Integer)
            and isinstance(n, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        array_type, index_type, n_type = sig.args
        pointer = _element_pointer(context, builder, array_type, args[0], args[1], index_type)
        return _masked_load(builder, pointer, _lane_mask(builder, context, args[2], n_type))
    return lanes_type(array, index, n), codegen


@intrinsic
def store_first(typingctx, array, index, n, value):
    """``array[index + k] = value[k]`` for lanes ``k < n`` only (a contiguous 1-D float32 array)."""
    if not (_contiguous_1d(array, (types.float32,)) and isinstance(index, types.Integer)
            and isinstance(n, types.Integer) and _is_lanes(value)):
        return None

    def codegen(context, builder, sig, args):
        array_type, index_type, n_type, _ = sig.args
        pointer = _element_pointer(context, builder, array_type, args[0], args[1], index_type)
        _masked_store(builder, pointer, _lane_mask(builder, context, args[2], n_type), args[3])
        return context.get_dummy_value()
    return types.none(array, index, n, value), codegen


# Cephes logf: v = 2^e · m with m in [√½, √2), ln v = e·ln 2 + ln m, ln(1 + x) from a degree-9 polynomial.
_LOG_POLY = (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
             -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1)
_SQRT_HALF = 0.707106781186547524


@intrinsic
def log(typingctx, v):
    """``ln v`` lane by lane for normal ``v > 0`` (about 1 ulp); +inf and NaN lanes stay as they are."""
    if not _is_lanes(v):
        return None

    def codegen(context, builder, sig, args):
        x = args[0]
        bits = builder.bitcast(x, _INT_VECTOR)
        int_constant = (lambda value: ir.Constant(_INT_VECTOR, [value] * WIDTH))
        exponent = builder.sub(builder.lshr(bits, int_constant(23)), int_constant(126))
        mantissa = builder.bitcast(builder.or_(builder.and_(bits, int_constant(0x807FFFFF)), int_constant(0x3F000000)),
                                   _VECTOR)  # in [½, 1)
        e = builder.sitofp(exponent, _VECTOR)
        small = builder.fcmp_ordered("<", mantissa, _constant(_SQRT_HALF))
        e = builder.select(small, builder.fsub(e, _constant(1.0)), e)
        m = builder.fsub(builder.select(small, builder.fadd(mantissa, mantissa), mantissa), _constant(1.0))
        z = builder.fmul(m, m)
        p = _constant(_LOG_POLY[0])
        for coefficient in _LOG_POLY[1:]:
            p = builder.fadd(builder.fmul(p, m), _constant(coefficient))
        y = builder.fmul(builder.fmul(p, m), z)
        y = builder.fadd(y, builder.fmul(e, _constant(-2.12194440e-4)))
        y = builder.fadd(y, builder.fmul(z, _constant(-0.5)))
        result = builder.fadd(builder.fadd(m, y), builder.fmul(e, _constant(0.693359375)))
        ordinary = builder.fcmp_ordered("<", x, _constant(float("inf")))  # false for +inf and NaN
        return builder.select(ordinary, result, x)
    return lanes_type(v), codegen


def _masked_load(builder, pointer, mask):
    pointer = builder.bitcast(pointer, _VECTOR.as_pointer())
    fnty = ir.FunctionType(_VECTOR, [pointer.type, ir.IntType(32), mask.type, _VECTOR])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.load.v{WIDTH}f32.p0")
    return builder.call(fn, [pointer, ir.Constant(ir.IntType(32), 4), mask, _constant(0.0)])


def _masked_store(builder, pointer, mask, value):
    pointer = builder.bitcast(pointer, _VECTOR.as_pointer())
    fnty = ir.FunctionType(ir.VoidType(), [_VECTOR, pointer.type, ir.IntType(32), mask.type])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.masked.store.v{WIDTH}f32.p0")
    builder.call(fn, [value, pointer, ir.Constant(ir.IntType(32), 4), mask])


@intrinsic
def load_first_at(typingctx, array, row, index, n):
    """Lanes ``< n`` of ``array[row, index:index + 16]`` (a contiguous 2-D float32 array), the others 0."""
    if not (_contiguous_2d(array, (types.float32,)) and all(isinstance(t, types.Integer) for t in (row, index, n))):
        return None

    def codegen(context, builder, sig, args):
        array_type, row_type, index_type, n_type = sig.args
        pointer = _row_pointer(context, builder, array_type, args[0], args[1], row_type, args[2], index_type)
        return _masked_load(builder, pointer, _lane_mask(builder, context, args[3], n_type))
    return lanes_type(array, row, index, n), codegen


@intrinsic
def store_first_at(typingctx, array, row, index, n, value):
    """``array[row, index + k] = value[k]`` for lanes ``k < n`` only (a contiguous 2-D float32 array)."""
    if not (_contiguous_2d(array, (types.float32,)) and all(isinstance(t, types.Integer) for t in (row, index, n))
            and _is_lanes(value)):
        return None

    def codegen(context, builder, sig, args):
        array_type, row_type, index_type, n_type, _ = sig.args
        pointer = _row_pointer(context, builder, array_type, args[0], args[1], row_type, args[2], index_type)
        _masked_store(builder, pointer, _lane_mask(builder, context, args[3], n_type), args[4])
        return context.get_dummy_value()
    return types.none(array, row, index, n, value), codegen
