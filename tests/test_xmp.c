/*
 * Unit tests of the XMP sidecar merge of the iqs command (tools/iqs/xmp.c):
 * byte-preserving edits, namespace handling, refusal of documents it does
 * not understand, and the atomic file replacement.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "../tools/iqs/xmp.h"
#include "testutil.h"

#define NS_DK "http://www.digikam.org/ns/1.0/"
#define NS_XMP "http://ns.adobe.com/xap/1.0/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

/* A sidecar as digiKam/exiv2 writes it, with foreign properties. */
static const char dk_sidecar[] =
    "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"XMP Core 4.4.0-Exiv2\">\n"
    " <rdf:RDF xmlns:rdf=\"" NS_RDF "\">\n"
    "  <rdf:Description rdf:about=\"\"\n"
    "    xmlns:xmp=\"" NS_XMP "\"\n"
    "    xmlns:digiKam=\"" NS_DK "\"\n"
    "    xmlns:lr=\"http://ns.adobe.com/lightroom/1.0/\"\n"
    "   xmp:Rating=\"3\"\n"
    "   digiKam:PickLabel=\"2\"\n"
    "   digiKam:ColorLabel='4'>\n"
    "   <!-- a comment & <odd> text -->\n"
    "   <digiKam:TagsList>\n"
    "    <rdf:Seq>\n"
    "     <rdf:li>Places/Caf&#233; &amp; bar</rdf:li>\n"
    "    </rdf:Seq>\n"
    "   </digiKam:TagsList>\n"
    "   <lr:hierarchicalSubject><rdf:Bag><rdf:li><![CDATA[a<b]]></rdf:li></rdf:Bag>"
    "</lr:hierarchicalSubject>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    "<?xpacket end=\"w\"?>";

/* Merges and returns a NUL-terminated copy (or NULL), status in *st. */
static char *merge(const char *in, int pick, int rating, xmp_status *st)
{
    xmp_update u = {pick, rating};
    char *out = NULL, err[200];
    size_t n = 0;
    *st = xmp_merge(in, strlen(in), &u, &out, &n, err, sizeof err);
    if (!out)
        return NULL;
    char *z = malloc(n + 1);
    assert_non_null(z);
    memcpy(z, out, n);
    z[n] = 0;
    free(out);
    return z;
}

/* Replaces the first occurrence of a in s by b (test-side expectation). */
static char *replace(const char *s, const char *a, const char *b)
{
    const char *p = strstr(s, a);
    assert_non_null(p);
    size_t n = strlen(s) - strlen(a) + strlen(b);
    char *r = malloc(n + 1);
    assert_non_null(r);
    size_t k = (size_t)(p - s);
    memcpy(r, s, k);
    strcpy(r + k, b);
    strcat(r, p + strlen(a));
    return r;
}

static void test_attr_values_replaced_in_place(void **state)
{
    (void)state;
    xmp_status st;
    char *out = merge(dk_sidecar, XMP_PICK_REJECTED, -1, &st);
    assert_int_equal(st, XMP_OK);
    char *e1 = replace(dk_sidecar, "xmp:Rating=\"3\"", "xmp:Rating=\"-1\"");
    char *e2 = replace(e1, "digiKam:PickLabel=\"2\"", "digiKam:PickLabel=\"1\"");
    assert_string_equal(out, e2);
    free(out);
    free(e1);
    free(e2);
}

static void test_keep_leaves_rating(void **state)
{
    (void)state;
    xmp_status st;
    char *out = merge(dk_sidecar, XMP_PICK_ACCEPTED, XMP_KEEP, &st);
    assert_int_equal(st, XMP_OK);
    char *e = replace(dk_sidecar, "digiKam:PickLabel=\"2\"", "digiKam:PickLabel=\"3\"");
    assert_string_equal(out, e);
    free(out);
    free(e);
}

static void test_same_values_unchanged(void **state)
{
    (void)state;
    xmp_status st;
    char *out = merge(dk_sidecar, XMP_PICK_PENDING, 3, &st);
    assert_int_equal(st, XMP_UNCHANGED);
    assert_string_equal(out, dk_sidecar);
    free(out);
}

/* Lightroom-style sidecar without our namespaces: they are declared on the
 * Description and everything else stays as it was. */
static void test_missing_namespaces_added(void **state)
{
    (void)state;
    static const char in[] =
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\">\n"
        "<rdf:Description rdf:about=\"\" xmlns:crs=\"http://ns.adobe.com/camera-raw-settings/1.0/\""
        " crs:Exposure2012=\"+0.35\">\n"
        "<crs:ToneCurve><rdf:Seq><rdf:li>0, 0</rdf:li></rdf:Seq></crs:ToneCurve>\n"
        "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n";
    xmp_status st;
    char *out = merge(in, XMP_PICK_REJECTED, -1, &st);
    assert_int_equal(st, XMP_OK);
    char *e = replace(in, "crs:Exposure2012=\"+0.35\"",
                      "crs:Exposure2012=\"+0.35\" xmlns:digiKam=\"" NS_DK "\" xmlns:xmp=\"" NS_XMP
                      "\" digiKam:PickLabel=\"1\" xmp:Rating=\"-1\"");
    assert_string_equal(out, e);
    /* The result is itself mergeable, and stable. */
    char *again = merge(out, XMP_PICK_REJECTED, -1, &st);
    assert_int_equal(st, XMP_UNCHANGED);
    free(again);
    free(out);
    free(e);
}

/* Properties written as elements (long form) are updated in place. */
static void test_element_form(void **state)
{
    (void)state;
    static const char in[] =
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"><rdf:Description rdf:about=\"\" "
        "xmlns:xap=\"" NS_XMP "\" xmlns:dk=\"" NS_DK "\">"
        "<xap:Rating>4</xap:Rating><dk:PickLabel/></rdf:Description></rdf:RDF>";
    static const char want[] =
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"><rdf:Description rdf:about=\"\" "
        "xmlns:xap=\"" NS_XMP "\" xmlns:dk=\"" NS_DK "\">"
        "<xap:Rating>-1</xap:Rating><dk:PickLabel>1</dk:PickLabel></rdf:Description></rdf:RDF>";
    xmp_status st;
    char *out = merge(in, XMP_PICK_REJECTED, -1, &st);
    assert_int_equal(st, XMP_OK);
    assert_string_equal(out, want);
    free(out);
}

/* The preferred prefix is taken by another namespace: a fresh one is used,
 * and a property of that other namespace is not mistaken for ours. */
static void test_prefix_clash(void **state)
{
    (void)state;
    static const char in[] =
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\" xmlns:digiKam=\"urn:other\">"
        "<rdf:Description rdf:about=\"\" digiKam:PickLabel=\"7\"/></rdf:RDF>";
    static const char want[] =
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\" xmlns:digiKam=\"urn:other\">"
        "<rdf:Description rdf:about=\"\" digiKam:PickLabel=\"7\" xmlns:digiKam1=\"" NS_DK
        "\" digiKam1:PickLabel=\"3\"/></rdf:RDF>";
    xmp_status st;
    char *out = merge(in, XMP_PICK_ACCEPTED, XMP_KEEP, &st);
    assert_int_equal(st, XMP_OK);
    assert_string_equal(out, want);
    free(out);
}

/* rdf:RDF without a Description gets one; default-namespace RDF too. */
static void test_no_description(void **state)
{
    (void)state;
    xmp_status st;
    char *out = merge("<rdf:RDF xmlns:rdf=\"" NS_RDF "\"></rdf:RDF>", XMP_PICK_PENDING,
                      XMP_KEEP, &st);
    assert_int_equal(st, XMP_OK);
    assert_string_equal(out, "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"><rdf:Description rdf:about=\"\""
                             " xmlns:digiKam=\"" NS_DK "\" digiKam:PickLabel=\"2\"/></rdf:RDF>");
    free(out);
    out = merge("<RDF xmlns=\"" NS_RDF "\"/>", XMP_PICK_PENDING, XMP_KEEP, &st);
    assert_int_equal(st, XMP_OK);
    assert_string_equal(out, "<RDF xmlns=\"" NS_RDF "\"><rdf:Description rdf:about=\"\""
                             " xmlns:rdf=\"" NS_RDF "\" xmlns:digiKam=\"" NS_DK
                             "\" digiKam:PickLabel=\"2\"/></RDF>");
    free(out);
}

/* A namespace URI written with character references still matches. */
static void test_uri_with_references(void **state)
{
    (void)state;
    static const char in[] =
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"><rdf:Description "
        "xmlns:d=\"http://www.digikam.org/ns/1.0&#x2f;\" d:PickLabel=\"0\"/></rdf:RDF>";
    xmp_status st;
    char *out = merge(in, XMP_PICK_ACCEPTED, XMP_KEEP, &st);
    assert_int_equal(st, XMP_OK);
    char *e = replace(in, "d:PickLabel=\"0\"", "d:PickLabel=\"3\"");
    assert_string_equal(out, e);
    free(out);
    free(e);
}

static void test_create(void **state)
{
    (void)state;
    xmp_update u = {XMP_PICK_REJECTED, -1};
    char *out = NULL, err[200];
    size_t n = 0;
    assert_int_equal(xmp_create(&u, &out, &n, err, sizeof err), XMP_OK);
    char *z = malloc(n + 1);
    memcpy(z, out, n);
    z[n] = 0;
    assert_non_null(strstr(z, "digiKam:PickLabel=\"1\""));
    assert_non_null(strstr(z, "xmp:Rating=\"-1\""));
    assert_non_null(strstr(z, "xmlns:digiKam=\"" NS_DK "\""));
    assert_non_null(strstr(z, "<?xpacket end=\"w\"?>"));
    xmp_status st;
    char *again = merge(z, XMP_PICK_REJECTED, -1, &st);
    assert_int_equal(st, XMP_UNCHANGED);
    free(again);
    free(z);
    free(out);
}

static void test_refused_documents(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "not xml at all",
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">",                                  /* unclosed */
        "<a><b></a></b>",                                                          /* crossed */
        "<!DOCTYPE x [<!ENTITY e \"e\">]><x/>",                                     /* DTD */
        "<rdf:RDF><rdf:Description/></rdf:RDF>",                                   /* unbound */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"><rdf:Description a:b=\"1\"/></rdf:RDF>", /* unbound */
        "<x xmlns:y=\"urn:y\"><y:z/></x>",                                         /* no rdf:RDF */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\" a=\"1\" a=\"2\"/>",                      /* dup attr */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\" a=\"x<y\"/>",                            /* '<' */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\">&bogus</rdf:RDF>",                       /* ref */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"/><second/>",                             /* 2 roots */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"/>trailing",                              /* text */
        "<rdf:RDF xmlns:rdf=\"" NS_RDF "\"><!-- open",                              /* comment */
        "\xFF\xFE<\0r\0",                                                          /* UTF-16 */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        xmp_update u = {1, -1};
        char *out = (char *)1, err[200] = "";
        size_t n = 7;
        xmp_status st = xmp_merge(bad[k], strlen(bad[k]) + (k == 15 ? 2 : 0), &u, &out, &n, err,
                                  sizeof err);
        if (st != XMP_E_PARSE)
            fail_msg("case %zu: status %d", k, (int)st);
        assert_null(out);
        assert_true(err[0] != 0);
    }
}

static void test_limits(void **state)
{
    (void)state;
    size_t depth = 1000, n = 0;
    char *s = malloc(depth * 8 + 200);
    n += (size_t)sprintf(s, "<rdf:RDF xmlns:rdf=\"" NS_RDF "\">");
    for (size_t k = 0; k < depth; k++)
        n += (size_t)sprintf(s + n, "<a>");
    for (size_t k = 0; k < depth; k++)
        n += (size_t)sprintf(s + n, "</a>");
    n += (size_t)sprintf(s + n, "</rdf:RDF>");
    xmp_update u = {1, XMP_KEEP};
    char *out = NULL;
    size_t olen;
    assert_int_equal(xmp_merge(s, n, &u, &out, &olen, NULL, 0), XMP_E_LIMIT);
    assert_null(out);
    free(s);
}

/* Every prefix of a valid sidecar is either refused or merged, and every
 * single-byte corruption too; nothing crashes or reads out of bounds (run
 * under SAN=address to make the last part meaningful). */
static void test_truncations_and_flips(void **state)
{
    (void)state;
    size_t len = strlen(dk_sidecar), merged = 0;
    /* Cuts before the end of the root element cannot be complete. */
    size_t complete = (size_t)(strstr(dk_sidecar, "</x:xmpmeta>") - dk_sidecar) + 12;
    char *buf = malloc(len);
    xmp_update u = {1, -1};
    for (size_t cut = 0; cut < len; cut++) {
        char *out = NULL;
        size_t n;
        memcpy(buf, dk_sidecar, cut);
        xmp_status st = xmp_merge(buf, cut, &u, &out, &n, NULL, 0);
        assert_true(st == XMP_E_PARSE || st == XMP_OK);
        if (cut < complete)
            assert_int_equal(st, XMP_E_PARSE);
        else
            merged += st == XMP_OK;
        free(out);
    }
    assert_true(merged > 0); /* the trailing processing instruction is optional */
    static const char flips[] = "<>/\"'=&:x \0";
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t f = 0; f < sizeof flips - 1; f++) {
            char *out = NULL;
            size_t n;
            memcpy(buf, dk_sidecar, len);
            buf[pos] = flips[f];
            xmp_status st = xmp_merge(buf, len, &u, &out, &n, NULL, 0);
            assert_true(st == XMP_E_PARSE || st == XMP_OK || st == XMP_UNCHANGED);
            if (st != XMP_E_PARSE)
                assert_non_null(out);
            free(out);
        }
    }
    free(buf);
}

static void test_sidecar_path(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(xmp_sidecar_path("a/b.jpg", 0, b, sizeof b), 0);
    assert_string_equal(b, "a/b.jpg.xmp");
    assert_int_equal(xmp_sidecar_path("a/b.jpg", 1, b, sizeof b), 0);
    assert_string_equal(b, "a/b.xmp");
    assert_int_equal(xmp_sidecar_path("x.y/photo", 1, b, sizeof b), 0);
    assert_string_equal(b, "x.y/photo.xmp");
    assert_int_equal(xmp_sidecar_path("d/.hidden", 1, b, sizeof b), 0);
    assert_string_equal(b, "d/.hidden.xmp");
    assert_int_equal(xmp_sidecar_path("p.tar.png", 1, b, sizeof b), 0);
    assert_string_equal(b, "p.tar.xmp");
    assert_int_equal(xmp_sidecar_path("abcdefgh.jpg", 0, b, 12), -1);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, strlen(data), f);
    fclose(f);
    chmod(path, mode);
}

static char *slurp(const char *path)
{
    size_t n;
    char *p = tu_read_file(path, &n);
    assert_non_null(p);
    char *z = malloc(n + 1);
    memcpy(z, p, n);
    z[n] = 0;
    free(p);
    return z;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_update_file(void **state)
{
    (void)state;
    const char *dir = tu_mkdtemp();
    char path[4096], err[256];
    struct stat st0, st1;
    int created = -1;
    xmp_update u = {XMP_PICK_REJECTED, -1};
    snprintf(path, sizeof path, "%s/p.jpg.xmp", dir);

    /* New sidecar. */
    assert_int_equal(xmp_update_file(path, &u, 0, &created, err, sizeof err), XMP_OK);
    assert_int_equal(created, 1);
    char *s = slurp(path);
    assert_non_null(strstr(s, "digiKam:PickLabel=\"1\""));
    free(s);

    /* Existing sidecar: merged, mode kept, no temporary file left. */
    write_file(path, dk_sidecar, 0640);
    u.pick_label = XMP_PICK_ACCEPTED;
    u.rating = 5;
    assert_int_equal(xmp_update_file(path, &u, 0, &created, err, sizeof err), XMP_OK);
    assert_int_equal(created, 0);
    s = slurp(path);
    char *e1 = replace(dk_sidecar, "xmp:Rating=\"3\"", "xmp:Rating=\"5\"");
    char *e2 = replace(e1, "digiKam:PickLabel=\"2\"", "digiKam:PickLabel=\"3\"");
    assert_string_equal(s, e2);
    free(s);
    assert_int_equal(stat(path, &st0), 0);
    assert_int_equal(st0.st_mode & 0777, 0640);
    assert_int_equal(count_entries(dir), 1);

    /* Same values again: not rewritten (same inode). */
    assert_int_equal(xmp_update_file(path, &u, 0, NULL, err, sizeof err), XMP_UNCHANGED);
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(st0.st_ino, st1.st_ino);

    /* Dry run: reports, writes nothing. */
    u.pick_label = XMP_PICK_PENDING;
    assert_int_equal(xmp_update_file(path, &u, 1, NULL, err, sizeof err), XMP_OK);
    s = slurp(path);
    assert_string_equal(s, e2);
    free(s);

    /* Unparsable sidecar: untouched. */
    write_file(path, "<x:xmpmeta>garbage", 0644);
    assert_int_equal(xmp_update_file(path, &u, 0, NULL, err, sizeof err), XMP_E_PARSE);
    s = slurp(path);
    assert_string_equal(s, "<x:xmpmeta>garbage");
    free(s);
    assert_int_equal(count_entries(dir), 1);

    /* Dry run of a missing sidecar creates nothing. */
    snprintf(path, sizeof path, "%s/q.jpg.xmp", dir);
    assert_int_equal(xmp_update_file(path, &u, 1, &created, err, sizeof err), XMP_OK);
    assert_int_equal(created, 1);
    assert_int_equal(count_entries(dir), 1);

    /* A sidecar path whose folder is a file: I/O error, nothing created. */
    snprintf(path, sizeof path, "%s/p.jpg.xmp/x.xmp", dir);
    assert_int_equal(xmp_update_file(path, &u, 0, NULL, err, sizeof err), XMP_E_IO);
    assert_true(err[0] != 0);

    /* A symlinked sidecar is written through, the link stays. */
    char target[4096], link[4096];
    snprintf(target, sizeof target, "%s/real.xmp", dir);
    snprintf(link, sizeof link, "%s/l.jpg.xmp", dir);
    write_file(target, dk_sidecar, 0644);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(xmp_update_file(link, &u, 0, NULL, err, sizeof err), XMP_OK);
    assert_int_equal(lstat(link, &st0), 0);
    assert_true(S_ISLNK(st0.st_mode));
    s = slurp(target);
    assert_non_null(strstr(s, "digiKam:PickLabel=\"2\""));
    free(s);
    free(e1);
    free(e2);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attr_values_replaced_in_place),
        cmocka_unit_test(test_keep_leaves_rating),
        cmocka_unit_test(test_same_values_unchanged),
        cmocka_unit_test(test_missing_namespaces_added),
        cmocka_unit_test(test_element_form),
        cmocka_unit_test(test_prefix_clash),
        cmocka_unit_test(test_no_description),
        cmocka_unit_test(test_uri_with_references),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_refused_documents),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncations_and_flips),
        cmocka_unit_test(test_sidecar_path),
        cmocka_unit_test(test_update_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
