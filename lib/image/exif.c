/*
 * EXIF orientation and JPEG structure checks (layer: image). stb_image
 * ignores metadata, so the decoder asks this file for the orientation tag
 * (JPEG APP1 "Exif" segment or PNG eXIf chunk, TIFF in either byte order)
 * and applies it with iqs_orient_apply, and asks for a structural check of
 * JPEGs before stb_image sees them: stb silently zero-fills a truncated
 * scan, and the Debian 2.27 build overflows its Huffman arrays on a DHT
 * table of more than 256 symbols.
 *
 * All parsing is of hostile input: every offset is checked against the
 * remaining length with subtraction (never addition that could wrap), loops
 * advance strictly, and any inconsistency makes the answer "no tag" rather
 * than an error, since orientation is an optional refinement.
 */
#include <string.h>

#include "image/image.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static uint16_t rd16(const uint8_t *p, int big)
{
    return big ? be16(p) : (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t rd32(const uint8_t *p, int big)
{
    return big ? be32(p)
               : (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                     ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Orientation from a TIFF structure (header + IFD0) of n bytes at t. */
static int tiff_orientation(const uint8_t *t, size_t n)
{
    int big;
    uint32_t ifd, count;

    if (n < 8)
        return 0;
    if (t[0] == 'I' && t[1] == 'I')
        big = 0;
    else if (t[0] == 'M' && t[1] == 'M')
        big = 1;
    else
        return 0;
    if (rd16(t + 2, big) != 42)
        return 0;
    ifd = rd32(t + 4, big);
    if (ifd > n - 2)
        return 0;
    count = rd16(t + ifd, big);
    /* The whole directory must be present; a count running past the end
     * marks a corrupt or hostile segment. */
    if (count > (n - ifd - 2) / 12)
        return 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + (size_t)i * 12;
        uint16_t tag = rd16(e, big), type = rd16(e + 2, big);
        uint32_t cnt = rd32(e + 4, big), v;
        if (tag != 0x0112)
            continue;
        if (cnt != 1)
            return 0;
        /* SHORT per the standard; LONG tolerated. Values of count 1 are
         * stored left-justified in the 4-byte value field. */
        if (type == 3)
            v = rd16(e + 8, big);
        else if (type == 4)
            v = rd32(e + 8, big);
        else
            return 0;
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}

/* What a walk over a JPEG's marker segments found before the first scan. */
typedef struct jpeg_info {
    int orient;   /* first APP1 Exif orientation, 0 if none or malformed */
    size_t sos;   /* offset just past the first SOS header, 0 if none     */
    int w, h;     /* dimensions of the first SOFn segment, 0 if none      */
} jpeg_info;

/* Walks JPEG marker segments from SOI up to the first scan. */
static void jpeg_walk(const uint8_t *d, size_t n, jpeg_info *ji)
{
    size_t pos = 2;
    int seen_exif = 0;

    memset(ji, 0, sizeof *ji);
    for (;;) {
        unsigned m;
        size_t len;
        if (pos >= n || d[pos] != 0xFF)
            return;
        while (pos < n && d[pos] == 0xFF) /* fill bytes */
            pos++;
        if (pos >= n)
            return;
        m = d[pos++];
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue; /* standalone markers carry no length */
        if (m == 0xD9)
            return;
        if (n - pos < 2)
            return;
        len = be16(d + pos);
        if (len < 2 || len > n - pos)
            return;
        if (m == 0xDA) {
            ji->sos = pos + len;
            return;
        }
        /* SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC): precision,
         * height, width. */
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC &&
            len >= 7 && ji->w == 0) {
            ji->h = be16(d + pos + 3);
            ji->w = be16(d + pos + 5);
        }
        if (m == 0xE1 && !seen_exif && len - 2 >= 6 &&
            memcmp(d + pos + 2, "Exif\0\0", 6) == 0) {
            seen_exif = 1;
            ji->orient = tiff_orientation(d + pos + 8, len - 8);
        }
        pos += len;
    }
}

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

static int png_orientation(const uint8_t *d, size_t n)
{
    size_t pos = 8;

    while (n - pos >= 12) {
        uint32_t len = be32(d + pos);
        const uint8_t *type = d + pos + 4;
        if (len > n - pos - 12)
            return 0;
        if (memcmp(type, "eXIf", 4) == 0)
            return tiff_orientation(d + pos + 8, len);
        if (memcmp(type, "IEND", 4) == 0)
            return 0;
        pos += 12 + (size_t)len;
    }
    return 0;
}

int iqs_exif_orientation(const void *data, size_t size)
{
    const uint8_t *d = (const uint8_t *)data;
    jpeg_info ji;

    if (!d)
        return 0;
    if (size >= 4 && d[0] == 0xFF && d[1] == 0xD8) {
        jpeg_walk(d, size, &ji);
        return ji.orient;
    }
    if (size >= 8 && memcmp(d, png_sig, 8) == 0)
        return png_orientation(d, size);
    return 0;
}

/* A DHT segment payload (after the length field) holds whole tables:
 * class/id byte, 16 code-length counts, then that many symbols. More than
 * 256 symbols in one table overflows stb_image 2.27's fixed arrays. */
static int dht_ok(const uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t nsym = 0;
        if (len < 17 || (p[0] >> 4) > 1 || (p[0] & 15) > 3)
            return 0;
        for (int i = 1; i <= 16; i++)
            nsym += p[i];
        if (nsym > 256 || nsym > len - 17)
            return 0;
        p += 17 + nsym;
        len -= 17 + nsym;
    }
    return 1;
}

/* Walks every marker segment of the file, skipping entropy-coded data the
 * way stb_image does (a scan ends at the first FF xx with xx neither 00
 * nor RSTn; FF fill bytes are skipped), so that each DHT segment stb could
 * ever parse is checked here first. Garbage between segments is skipped
 * byte by byte, which finds at least the markers stb would find. */
int iqs_jpeg_check(const void *data, size_t size)
{
    const uint8_t *d = (const uint8_t *)data;
    size_t pos = 2;
    int in_scan = 0, saw_scan = 0;

    /* stb_image skips 0xFF fill bytes before SOI too (FF FF D8 decodes as
     * a JPEG): no other format it reads here starts with 0xFF, so such a
     * prefix is refused rather than let past this walk unchecked. */
    if (d && size >= 2 && d[0] == 0xFF && d[1] != 0xD8)
        return IQS_JPEG_CORRUPT;
    if (!d || size < 4 || d[0] != 0xFF || d[1] != 0xD8)
        return IQS_JPEG_NOT_JPEG;
    for (;;) {
        unsigned m;
        size_t len;
        while (in_scan) {
            size_t q;
            if (pos >= size)
                return IQS_JPEG_TRUNCATED;
            if (d[pos] != 0xFF) {
                pos++;
                continue;
            }
            q = pos + 1;
            while (q < size && d[q] == 0xFF)
                q++;
            if (q >= size)
                return IQS_JPEG_TRUNCATED;
            if (d[q] == 0x00 || (d[q] >= 0xD0 && d[q] <= 0xD7))
                pos = q + 1; /* stuffed byte or restart marker */
            else
                in_scan = 0; /* a real marker starts at pos */
        }
        while (pos < size && d[pos] != 0xFF)
            pos++;
        while (pos < size && d[pos] == 0xFF)
            pos++;
        if (pos >= size)
            return IQS_JPEG_TRUNCATED;
        m = d[pos++];
        if (m == 0xD9)
            return saw_scan ? IQS_JPEG_OK : IQS_JPEG_TRUNCATED;
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue; /* standalone markers carry no length */
        if (size - pos < 2)
            return IQS_JPEG_TRUNCATED;
        len = be16(d + pos);
        if (len < 2)
            return IQS_JPEG_CORRUPT;
        if (len > size - pos)
            return IQS_JPEG_TRUNCATED;
        if (m == 0xC4 && !dht_ok(d + pos + 2, len - 2))
            return IQS_JPEG_CORRUPT;
        pos += len;
        if (m == 0xDA)
            in_scan = saw_scan = 1;
    }
}

int iqs_header_dims(const void *data, size_t size, int *w, int *h)
{
    const uint8_t *d = (const uint8_t *)data;
    jpeg_info ji;

    *w = *h = 0;
    if (!d)
        return 0;
    if (size >= 4 && d[0] == 0xFF && d[1] == 0xD8) {
        jpeg_walk(d, size, &ji);
        *w = ji.w;
        *h = ji.h;
        return ji.w > 0;
    }
    /* PNG: IHDR must be the first chunk; width and height are u32 BE,
     * valid up to 2^31 - 1. */
    if (size >= 24 && memcmp(d, png_sig, 8) == 0 &&
        memcmp(d + 12, "IHDR", 4) == 0) {
        uint32_t pw = be32(d + 16), ph = be32(d + 20);
        if (pw > 0x7FFFFFFFu || ph > 0x7FFFFFFFu)
            return 0;
        *w = (int)pw;
        *h = (int)ph;
        return 1;
    }
    return 0;
}

void iqs_orient_dims(int orientation, int w, int h, int *ow, int *oh)
{
    const int swap = orientation >= 5 && orientation <= 8;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
}

/* RGB8 [h,w] -> RGB8 [oh,ow] by an affine pixel walk: display pixel (x, y)
 * reads stored pixel base + x*dx + y*dy (in pixels). */
void iqs_orient_apply(const uint8_t *restrict src, int w, int h,
                      int orientation, uint8_t *restrict dst)
{
    const ptrdiff_t W = w, H = h;
    ptrdiff_t base, dx, dy;
    int ow, oh;

    switch (orientation) {
    case 2: base = W - 1, dx = -1, dy = W; break;
    case 3: base = (H - 1) * W + W - 1, dx = -1, dy = -W; break;
    case 4: base = (H - 1) * W, dx = 1, dy = -W; break;
    case 5: base = 0, dx = W, dy = 1; break;
    case 6: base = (H - 1) * W, dx = -W, dy = 1; break;
    case 7: base = (H - 1) * W + W - 1, dx = -W, dy = -1; break;
    case 8: base = W - 1, dx = W, dy = -1; break;
    default:
        memcpy(dst, src, (size_t)w * (size_t)h * 3);
        return;
    }
    iqs_orient_dims(orientation, w, h, &ow, &oh);
    for (int y = 0; y < oh; y++) {
        const ptrdiff_t rowbase = base + y * dy;
        uint8_t *restrict d = dst + (size_t)y * (size_t)ow * 3;
        for (int x = 0; x < ow; x++) {
            const uint8_t *s = src + (rowbase + x * dx) * 3;
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
            d += 3;
        }
    }
}
