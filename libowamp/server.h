/* PLACEHOLDER */
#ifndef OWP_server_H
#define OWP_server_H
#endif
