/* The fields of a suite's registry entry that the suite files fill the same way, by convention:
 * the callbacks under their usual static names (derive, layout, generate, reference, flops,
 * bytes, tolerance), the axes (NAXES entries of axes[]), the rows (variants[]) and the check
 * shapes (check_shapes[]); ATTN_SUITE_FLOORS adds the speed floors (floors[]). The entry itself
 * names the suite, its title, its plot axes and whatever else it has (row_of, ref_unit, ...).
 * A suite whose functions have other names (luong, additive) fills these fields itself. */
#ifndef ATTN_SUITE_FIELDS_H
#define ATTN_SUITE_FIELDS_H

#define ATTN_SUITE_FIELDS                                                                        \
    .naxes = NAXES, .axes = axes, .derive = derive, .layout = layout, .generate = generate,      \
    .reference = reference, .flops = flops, .bytes = bytes, .tolerance = tolerance,              \
    .nvariants = sizeof variants / sizeof variants[0], .variants = variants,                     \
    .check_shapes = check_shapes

#define ATTN_SUITE_FLOORS .nfloors = sizeof floors / sizeof floors[0], .floors = floors

#endif
