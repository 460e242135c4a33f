/* bench/json.c: JSON strings (quotes, backslashes, control characters, invalid UTF-8), JSON's
 * number grammar, a results row turned into an object with its values typed by the column table
 * and its timing samples (in order, exact), the --json file's append rules (a cut line ended),
 * and a child's row message too long for its length field refused (bench/isolate.c). The end-to-end checks (a run's --json
 * against its CSV) are in tests/report_test.sh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "common.h"
#include "isolate.h"
#include "json.h"

static char *str_of(const char *s)
{
    attn_buf_t b = {0};
    attn_json_str(&b, s);
    return b.p;
}

Test(json, strings_escaped)
{
    char *s = str_of("a\"b\\c\n\x01 é");
    cr_expect_str_eq(s, "\"a\\\"b\\\\c\\u000a\\u0001 é\"");
    free(s);
    s = str_of("x\xff" "y\xc3"); /* a stray byte and a cut sequence: U+FFFD each */
    cr_expect_str_eq(s, "\"x\xef\xbf\xbdy\xef\xbf\xbd\"");
    free(s);
    s = str_of(NULL);
    cr_expect_str_eq(s, "null");
    free(s);
}

Test(json, number_grammar)
{
    const char *yes[] = {"0", "-0", "12", "1.5", "-0.25", "1e+06", "2.5E-3", "4096"};
    const char *no[] = {"", "-", "01", ".5", "1.", "1e", "inf", "nan", "0x10", "1 ", "+1", "1e+"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        cr_expect(attn_json_is_number(yes[i]), "'%s' is a JSON number", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_expect(!attn_json_is_number(no[i]), "'%s' is no JSON number", no[i]);
    attn_buf_t b = {0};
    attn_json_num(&b, NAN), attn_json_num(&b, INFINITY), attn_json_num(&b, 0.5);
    cr_expect_str_eq(b.p, "nullnull0.5");
    attn_buf_free(&b);
}

Test(json, row_typed_by_the_column_table)
{
    attn_buf_t b = {0};
    /* status and reason are text, N an axis (a number), median_ms a number, "inf" no JSON
     * number: kept as a string; an empty field null; a quoted CSV field unquoted */
    cr_assert_eq(attn_json_row(&b, "suite,N,status,reason,median_ms,tflops",
                               "mhsa,4096,fail,\"max |err| 3, \"\"bad\"\"\",,inf", NULL, 0), 0);
    cr_expect_str_eq(b.p, "{\"schema_version\":1,\"suite\":\"mhsa\",\"N\":4096,\"status\":"
                          "\"fail\",\"reason\":\"max |err| 3, \\\"bad\\\"\",\"median_ms\":null,"
                          "\"tflops\":\"inf\",\"samples_ms\":[]}");
    attn_buf_free(&b);
    /* a text column holding digits stays a string */
    cr_assert_eq(attn_json_row(&b, "variant,git_commit", "123,0123", NULL, 0), 0);
    cr_expect_str_eq(b.p, "{\"schema_version\":1,\"variant\":\"123\",\"git_commit\":\"0123\","
                          "\"samples_ms\":[]}");
    attn_buf_free(&b);
    cr_expect_eq(attn_json_row(&b, "a,b", "1,2,3", NULL, 0), -1, "a row of another width is refused");
    cr_expect_eq(attn_json_row(&b, "a,b", "\"1,2", NULL, 0), -1, "broken quoting is refused");
    attn_buf_free(&b);
}

/* The samples: last, in the order given (not sorted), each reading back as the same double
 * (0.1 + 0.2 needs 17 digits, 0.25 fewer), a non-finite one null. */
Test(json, row_samples_in_order_and_exact)
{
    attn_buf_t b = {0};
    const double ms[] = {0.1 + 0.2, 0.25, 0.125, 1e-7, INFINITY};
    cr_assert_eq(attn_json_row(&b, "suite,samples", "mhsa,5", ms, 5), 0);
    cr_expect_str_eq(b.p, "{\"schema_version\":1,\"suite\":\"mhsa\",\"samples\":5,\"samples_ms\":"
                          "[0.30000000000000004,0.25,0.125,1e-07,null]}");
    attn_buf_free(&b);
}

/* A child's message longer than its 32-bit length field can say is refused whole (EMSGSIZE,
 * nothing written), never sent with its length cut (the row's samples: bench/run_row.c). */
Test(json, row_message_over_4gib_refused)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    char small = 'x';
    errno = 0;
    cr_expect_eq(attn_msg_send(p[1], 'R', 0, &small, (size_t)UINT32_MAX + 1), -1);
    cr_expect_eq(errno, EMSGSIZE, "errno %d", errno);
    char got;
    cr_expect_eq(read(p[0], &got, 1), -1, "something was written");
    cr_expect_eq(attn_msg_send(p[1], 'R', 7, &small, 1), 0, "a small one is sent");
    char msg[11];
    cr_expect_eq(read(p[0], msg, sizeof msg), 11, "type, index, length, the byte, a NUL");
    close(p[0]), close(p[1]);
}

Test(json, file_appends_and_ends_a_cut_line)
{
    char *dir = tst_tmpdir("json"), *p = tst_path(dir, "sub/r.jsonl"), err[512];
    attn_json_t j;
    cr_assert_eq(attn_json_open(&j, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(attn_json_append(&j, "suite,N", "mhsa,1", NULL, 0), 0);
    attn_json_close(&j);
    const char cut[] = "{\"schema_version\":1,\"suite\":\"mh";
    size_t len;
    char *text = tst_read_file(p, &len);
    char *both = malloc(len + sizeof cut);
    memcpy(both, text, len), memcpy(both + len, cut, sizeof cut);
    tst_write_file(p, both, len + sizeof cut - 1);
    cr_assert_eq(attn_json_open(&j, p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(attn_json_append(&j, "suite,N", "mhsa,2", NULL, 0), 0);
    attn_json_close(&j);
    char *after = tst_read_file(p, NULL);
    char want[512];
    snprintf(want, sizeof want, "%s%s\n{\"schema_version\":1,\"suite\":\"mhsa\",\"N\":2,\"samples_ms\":[]}\n",
             text, cut);
    cr_expect_str_eq(after, want);
    cr_expect_neq(attn_json_open(&j, dir, err, sizeof err), 0, "a directory is refused");
    cr_expect(strstr(err, dir), "the message names the path: %s", err);
    free(text), free(both), free(after), free(p);
    tst_rmtree(dir);
    free(dir);
}
