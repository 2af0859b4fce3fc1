# ember::plot — charts and labelled image grids (include/ember/plot/), drawn with PLplot's
# cairo driver. Kept out of the core: only targets that link ember::plot need PLplot.
#
# Include this after the `ember` target exists. It finds PLplot through pkg-config
# (Debian: libplplot-dev; the memcairo device comes from plplot-driver-cairo) and sets
#   EMBER_PLOT_FOUND  TRUE when PLplot was found and the target below exists
#   ember_plot / ember::plot  INTERFACE target: ember + PLplot's include path and library
# The cairo driver is a runtime plug-in; when it is missing, a figure throws ember::Error
# naming the package to install.

set(EMBER_PLOT_FOUND FALSE)
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(EMBER_PLPLOT QUIET IMPORTED_TARGET plplot)
endif()

if(EMBER_PLPLOT_FOUND)
  if(NOT TARGET ember_plot)
    add_library(ember_plot INTERFACE)
    add_library(ember::plot ALIAS ember_plot)
    target_link_libraries(ember_plot INTERFACE ember PkgConfig::EMBER_PLPLOT)
  endif()
  set(EMBER_PLOT_FOUND TRUE)
  pkg_get_variable(EMBER_PLPLOT_DRIVER_DIR plplot drvdir)
  if(EMBER_PLPLOT_DRIVER_DIR AND NOT EXISTS "${EMBER_PLPLOT_DRIVER_DIR}/cairo.driver_info")
    message(WARNING "ember::plot: PLplot ${EMBER_PLPLOT_VERSION} found, but its cairo driver "
                    "is not in ${EMBER_PLPLOT_DRIVER_DIR}; figures will throw until "
                    "plplot-driver-cairo is installed")
  endif()
  message(STATUS "ember::plot: PLplot ${EMBER_PLPLOT_VERSION} (figures enabled)")
else()
  message(STATUS "ember::plot: PLplot not found (pkg-config 'plplot'; Debian: libplplot-dev "
                 "plplot-driver-cairo); ember::plot is unavailable")
endif()
