#include "serial/termios2.hpp"

#include <asm/termbits.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace csb {

std::string configure_serial(int fd, unsigned baud, bool rtscts, bool dtr) {
  struct termios2 t {};
  if (ioctl(fd, TCGETS2, &t) != 0) return std::string("TCGETS2: ") + std::strerror(errno);
  // What cfmakeraw does: no echo, no line editing, no signals, no translation.
  t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF | IXANY);
  t.c_oflag &= ~OPOST;
  t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cflag &= ~(CSIZE | PARENB | CSTOPB | CRTSCTS | CBAUD | (CBAUD << IBSHIFT));
  t.c_cflag |= CS8 | CLOCAL | CREAD | BOTHER | (BOTHER << IBSHIFT);
  if (rtscts) t.c_cflag |= CRTSCTS;
  if (!dtr) t.c_cflag &= ~HUPCL;  // keep DTR low at close too
  t.c_ispeed = baud;
  t.c_ospeed = baud;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (ioctl(fd, TCSETS2, &t) != 0) return std::string("TCSETS2: ") + std::strerror(errno);
  int bits = TIOCM_DTR;
  (void)ioctl(fd, dtr ? TIOCMBIS : TIOCMBIC, &bits);
  (void)ioctl(fd, TIOCEXCL);
  return {};
}

}  // namespace csb
