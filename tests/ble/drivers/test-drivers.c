/* SPDX-License-Identifier: MIT */
/* The driver table, lookup and the decoder object's contract. */

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "driver-test.h"

static void check_uuid(const char *u) {
        if (!u)
                return;
        check_eq(strlen(u), 36);
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        check(u[i] == '-');
                else
                        check(isxdigit((unsigned char) u[i]) && !isupper((unsigned char) u[i]));
        }
}

#define UUIDS(...) (const char *const[]) { __VA_ARGS__ }, sizeof((const char *const[]) { __VA_ARGS__ }) / sizeof(char *)

int main(void) {
        static const char *const names[] = {
                "progressor", "forceboard", "entralpi", "whc06", "cts500", "linescale", "activ5", "imd-force",
        };
        DriverDecoder *dec = (DriverDecoder *) 0x1;
        size_t n = 0;

        for (const Driver *const *d = driver_table; *d; d++, n++) {
                check(n < ELEMENTSOF(names));
                check(strcmp((*d)->name, names[n]) == 0);
                check(driver_find(names[n]) == *d);
                check((*d)->description && (*d)->name_prefixes && (*d)->decode);
                check((*d)->nominal_rate_hz > 0);
                check_uuid((*d)->service_uuid);
                check_uuid((*d)->notify_uuid);
                check_uuid((*d)->write_uuid);
                check_uuid((*d)->battery_uuid);
                if ((*d)->advert_only)
                        check(!(*d)->notify_uuid && (*d)->company_id != 0);
                else
                        check((*d)->notify_uuid && (*d)->service_uuid);
                /* Commands need somewhere to go. */
                if ((*d)->init_cmd.len || (*d)->start_cmd.len || (*d)->stop_cmd.len ||
                    (*d)->tare_cmd.len || (*d)->battery_cmd.len)
                        check((*d)->write_uuid);
                if ((*d)->hw_tare)
                        check((*d)->tare_cmd.len > 0);
        }
        check_eq(n, ELEMENTSOF(names));
        check(!driver_find("nope"));
        check(!driver_find(NULL));

        /* The Progressor API: single-byte opcodes. */
        {
                const Driver *p = driver_find("progressor");

                check_eq(p->start_cmd.len, 1);
                check_eq(p->start_cmd.bytes[0], 0x65);
                check_eq(p->stop_cmd.bytes[0], 0x66);
                check_eq(p->tare_cmd.bytes[0], 0x64);
                check_eq(p->battery_cmd.bytes[0], 0x6F);
        }
        /* LineScale commands are [letter, CR, LF, sum8]. */
        {
                const Driver *l = driver_find("linescale");
                const DriverCommand *c[] = { &l->start_cmd, &l->stop_cmd };

                for (size_t i = 0; i < ELEMENTSOF(c); i++) {
                        check_eq(c[i]->len, 4);
                        check_eq(c[i]->bytes[1], 0x0D);
                        check_eq(c[i]->bytes[2], 0x0A);
                        check_eq(c[i]->bytes[3], (c[i]->bytes[0] + 0x0D + 0x0A) & 0xFF);
                }
                check_eq(l->start_cmd.bytes[0], 'A');
                check_eq(l->stop_cmd.bytes[0], 'E');
        }

        /* Matching by advertised name. */
        check(driver_match("Progressor_0C4B", NULL, 0) == driver_find("progressor"));
        check(driver_match("Force Board", NULL, 0) == driver_find("forceboard"));
        check(driver_match("ENTRALPI", NULL, 0) == driver_find("entralpi"));
        check(driver_match("IF_B7", NULL, 0) == driver_find("whc06"));
        check(driver_match("CTS500", NULL, 0) == driver_find("cts500"));
        check(driver_match("CTS-300", NULL, 0) == driver_find("cts500"));
        check(!driver_match("Progresso", NULL, 0));
        check(!driver_match("", NULL, 0));
        check(!driver_match(NULL, NULL, 0));
        /* By a service UUID that identifies the family, in any case. */
        check(driver_match(NULL, UUIDS("0000180f-0000-1000-8000-00805f9b34fb",
                                       "7E4E1701-1EA6-40C9-9DCC-13D34FFEAD57")) == driver_find("progressor"));
        check(driver_match("", UUIDS("0000185a-0000-1000-8000-00805f9b34fb")) == driver_find("imd-force"));
        check(driver_match("x", UUIDS("00001000-0000-1000-8000-00805f9b34fb")) == driver_find("linescale"));
        check(driver_match(NULL, UUIDS("00005000-0000-1000-8000-00805f9b34fb")) == driver_find("activ5"));
        check(driver_match(NULL, UUIDS("9a88d67f-8df2-4afe-9e0d-c2bbbe773dd0")) == driver_find("forceboard"));
        /* Generic services (HM-10 UART, SIG Weight Scale) name nothing on their own. */
        check(!driver_match("HMSoft", UUIDS("0000ffe0-0000-1000-8000-00805f9b34fb")));
        check(!driver_match("BodyScale", UUIDS("0000181d-0000-1000-8000-00805f9b34fb")));
        check(!driver_match(NULL, UUIDS(NULL)));
        /* The name wins over a UUID another driver claims. */
        check(driver_match("CTS500", UUIDS("0000185a-0000-1000-8000-00805f9b34fb")) == driver_find("cts500"));

        /* Decoder object. */
        check_eq(driver_decoder_new(NULL, &dec), -EINVAL);
        check(dec == (DriverDecoder *) 0x1);   /* not clobbered on failure */
        check_eq(driver_decoder_new(driver_find("imd-force"), NULL), -EINVAL);
        dec = NULL;
        check_eq(driver_decoder_new(driver_find("imd-force"), &dec), 0);
        check(driver_decoder_driver(dec) == driver_find("imd-force"));
        check_stats(dec, 0, 0, 0);
        check_eq(driver_decoder_feed(NULL, (const uint8_t *) "", 0, NULL, 0), -EINVAL);
        check_eq(driver_decoder_feed(dec, NULL, 4, NULL, 0), -EINVAL);
        check_stats(dec, 0, 0, 0);  /* argument errors are the caller's, not the device's */
        /* Battery and low-power outputs are not samples. */
        {
                DriverDecoder *p = test_decoder("progressor");
                DriverOutput out[1];

                check_eq(FEED(p, out, 0x00, 0x04, 0x80, 0x0E, 0x00, 0x00), 1);
                check_eq(FEED(p, out, 0x04, 0x00), 1);
                check_stats(p, 2, 0, 0);
                driver_decoder_reset(p);
                check_stats(p, 2, 0, 0);  /* statistics survive a reconnect */
                check(!driver_decoder_free(p));
        }
        driver_decoder_reset(NULL);
        check(!driver_decoder_stats(NULL));
        check(!driver_decoder_driver(NULL));
        check(!driver_decoder_free(NULL));
        check(!driver_decoder_free(dec));
        return 0;
}
