# SPDX-License-Identifier: GPL-2.0
"""The struct size table of scripts/struct-sizes.sh and scripts/matrix.sh.

table(configs) takes {name: {'options': str, 'stock': S, 'patched': S}},
S = {'vm_area_struct': int, 'mm_struct': int, 'l1_cache_bytes': int,
'bits': 64 or 32}, adds each flavor's slab stride and objects per 4 KiB
page, the growth and the goal to each config, and returns (lines, failed):
the table and the configs that miss the goal (no vm_area_struct growth on a
64-bit config, at most 8 bytes on a 32-bit one).

The vm_area_struct slab cache is SLAB_HWCACHE_ALIGN with an in-object free
pointer (mm/vma_init.c), so an object takes ALIGN(size, align) bytes of
slab, align being L1_CACHE_BYTES halved while the object fits in half of
it (mm/slab_common.c calculate_alignment()).
"""


def stride(size, l1):
    ralign = l1
    while size <= ralign // 2:
        ralign //= 2
    align = max(ralign, 8)
    return (size + align - 1) // align * align


def table(configs):
    failed = []
    fmt = '%-17s %-17s %-23s %-13s %s'
    lines = [fmt % ('config', 'vm_area_struct', 'slab bytes (per 4K)', 'mm_struct', 'L1')]
    for name, d in configs.items():
        s, p = d['stock'], d['patched']
        for f in (s, p):
            f['slab_object_bytes'] = stride(f['vm_area_struct'], f['l1_cache_bytes'])
            f['objects_per_4k'] = 4096 // f['slab_object_bytes']
        grow = p['vm_area_struct'] - s['vm_area_struct']
        limit = 0 if p['bits'] == 64 else 8
        d['vm_area_struct_growth'] = grow
        d['goal_bytes'] = limit
        d['goal_met'] = grow <= limit
        if grow > limit:
            failed.append('%s: vm_area_struct grows by %d bytes (goal: at most %d)'
                          % (name, grow, limit))
        lines.append(fmt % (
            name,
            '%d -> %d (%+d)' % (s['vm_area_struct'], p['vm_area_struct'], grow),
            '%d -> %d (%d -> %d)' % (s['slab_object_bytes'], p['slab_object_bytes'],
                                     s['objects_per_4k'], p['objects_per_4k']),
            '%d -> %d' % (s['mm_struct'], p['mm_struct']),
            '%d' % p['l1_cache_bytes']))
    for name, d in configs.items():
        lines.append('  %s: %s' % (name, d['options'] or 'tinyconfig'))
    return lines, failed
